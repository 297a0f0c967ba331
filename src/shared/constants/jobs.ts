/**
 * The job streams of SPEC §5. Server and worker import these names; nothing else spells
 * a subject, stream or durable.
 */
export const jobStreams = {
  email: {
    stream: 'axumkit_jobs_email',
    subject: 'axumkit.jobs.email',
    durable: 'email-consumer',
    concurrency: 2,
  },
  /**
   * A password reset or verification link asked for by address. Whether the address has an
   * account that gets one is decided by the worker, so the request does the same work either
   * way and its timing cannot tell known from unknown addresses.
   */
  accountEmail: {
    stream: 'axumkit_jobs_account_email',
    subject: 'axumkit.jobs.account_email',
    durable: 'account-email-consumer',
    concurrency: 2,
  },
  indexPost: {
    stream: 'axumkit_jobs_index_post',
    subject: 'axumkit.jobs.index.post',
    durable: 'post-index-consumer',
    concurrency: 4,
  },
  indexUser: {
    stream: 'axumkit_jobs_index_user',
    subject: 'axumkit.jobs.index.user',
    durable: 'user-index-consumer',
    concurrency: 2,
  },
  reindexPosts: {
    stream: 'axumkit_jobs_reindex_posts',
    subject: 'axumkit.jobs.reindex.posts',
    durable: 'reindex-posts-consumer',
    concurrency: 1,
  },
  reindexUsers: {
    stream: 'axumkit_jobs_reindex_users',
    subject: 'axumkit.jobs.reindex.users',
    durable: 'reindex-users-consumer',
    concurrency: 1,
  },
  /** A new OAuth account's provider avatar, fetched and stored as its profile image. */
  importAvatar: {
    stream: 'axumkit_jobs_import_avatar',
    subject: 'axumkit.jobs.users.import_avatar',
    durable: 'import-avatar-consumer',
    concurrency: 2,
  },
  deleteContent: {
    stream: 'axumkit_jobs_delete_content',
    subject: 'axumkit.jobs.storage.delete_content',
    durable: 'delete-content-consumer',
    concurrency: 4,
  },
} as const;

export type JobName = keyof typeof jobStreams;

export const deadLetterStream = {
  stream: 'axumkit_jobs_dlq',
  subjectPrefix: 'axumkit.dlq',
  maxAgeDays: 14,
} as const;

/** `axumkit.jobs.index.post` dead-letters to `axumkit.dlq.index.post`. */
export const deadLetterSubject = (origin: JobName): string =>
  `${deadLetterStream.subjectPrefix}.${jobStreams[origin].subject.replace(/^axumkit\.jobs\./, '')}`;

/** NATS core subject for action-log fan-out to SSE clients of every instance. */
export const realtimeEventsSubject = 'axumkit.realtime.events';
