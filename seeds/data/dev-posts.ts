export interface DevPost {
  author_handle: string;
  title: string;
  content: string;
}

export const devPosts: DevPost[] = [
  {
    author_handle: 'alice',
    title: 'Keyset pagination in PostgreSQL',
    content: [
      'Offset pagination gets slower with every page because the database still walks every skipped row.',
      'Keyset pagination remembers the last (created_at, id) pair and asks for rows strictly older than it.',
      'With an index on (created_at desc, id desc) each page is a short index scan, whatever its depth.',
    ].join('\n\n'),
  },
  {
    author_handle: 'alice',
    title: 'The transactional outbox',
    content: [
      'Writing a row and publishing a message are two systems; one of them will fail at the worst moment.',
      'The outbox pattern writes the job into the same PostgreSQL transaction as the change.',
      'A relay publishes pending rows to NATS JetStream with the row id as the message id, so duplicates are dropped.',
    ].join('\n\n'),
  },
  {
    author_handle: 'bob',
    title: 'Full-text search without a search server',
    content: [
      'PostgreSQL ships tsvector, tsquery and GIN indexes, which is enough search for many products.',
      'websearch_to_tsquery accepts what people type into a search box: quoted phrases, OR and -exclusions.',
      'When relevance tuning or typo tolerance matters, Meilisearch sits behind the same search port.',
    ].join('\n\n'),
  },
  {
    author_handle: 'bob',
    title: 'A home lab on one small machine',
    content: [
      'PostgreSQL with a streaming replica, Redis, NATS and an S3-compatible store all fit in a few hundred megabytes.',
      'Start everything on loopback only, and keep the data directories somewhere you can delete.',
    ].join('\n\n'),
  },
  {
    author_handle: 'carol',
    title: 'Session lifetimes that make sense',
    content: [
      'A sliding session expiry keeps active users signed in; an absolute cap makes sure a stolen cookie dies eventually.',
      'Refresh the expiry only when less than half of it remains, so every request does not write to Redis.',
      'Changing a password should revoke every other session of the account.',
    ].join('\n\n'),
  },
  {
    author_handle: 'carol',
    title: 'Backup codes, done carefully',
    content: [
      'Store backup codes as keyed hashes, compare them in constant time, and make each one usable exactly once.',
      'Two requests racing with the same code must not both succeed: consume the code in the same statement that checks it.',
    ].join('\n\n'),
  },
];
