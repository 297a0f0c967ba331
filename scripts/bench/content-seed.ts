import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { createPostCursors } from '../../src/modules/posts/posts.cursor.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import { seededRandom } from '../../test/support/seeded-random.ts';

/**
 * The corpus the content scenarios read: POSTS posts by AUTHORS authors, written straight
 * into the posts and search_posts tables in batches (a post through the API also writes its
 * body to the content store, which would make seeding take minutes). Titles and bodies are
 * words of a made-up language drawn with Zipf frequencies, as words in real text are, so a
 * search matches a realistic share of the corpus rather than everything or nothing.
 */

export const POSTS = 100_000;
export const PAGE_SIZE = 20;
export const DEEP_PAGE = 2_000;
const AUTHORS = 100;
const BATCH = 2_000;
const VOCABULARY = 5_000;
const TITLE_WORDS = 6;
const CONTENT_WORDS = 80;
const HANDLE_PREFIX = 'benchseed';
const REPLICA_WAIT_MS = 120_000;
const SEARCH_INDEX = 'search_posts_document_prefixes_idx';

function language(next: () => number) {
  const syllables = ['ka', 'lo', 'mi', 'ren', 'su', 'ta', 'vo', 'ne', 'ri', 'da', 'po', 'shi'];
  const words = new Set<string>();
  while (words.size < VOCABULARY) {
    const length = 2 + Math.floor(next() * 3);
    let word = '';
    for (let i = 0; i < length; i += 1) word += syllables[Math.floor(next() * syllables.length)];
    words.add(word);
  }
  const vocabulary = [...words];
  // Zipf (s = 1): the word of rank r is drawn with weight 1/r.
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= vocabulary.length; rank += 1) cumulative.push((total += 1 / rank));
  const word = () => {
    const x = next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return vocabulary[lo]!;
  };
  const text = (count: number) => Array.from({ length: count }, word).join(' ');
  return { vocabulary, text };
}

/** POSTS posts, one a second, the newest now: a listing's order is its creation order. */
async function writeCorpus(
  trx: Knex.Transaction,
  authorIds: string[],
  text: (count: number) => string,
) {
  const newest = Date.now();
  for (let start = 0; start < POSTS; start += BATCH) {
    const posts: Record<string, unknown>[] = [];
    const documents: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(start + BATCH, POSTS); i += 1) {
      const id = newId();
      const authorId = authorIds[i % AUTHORS]!;
      const createdAt = new Date(newest - i * 1000);
      const title = text(TITLE_WORDS);
      posts.push({
        id,
        author_id: authorId,
        title,
        storage_key: `posts/${id}`,
        created_at: createdAt,
        updated_at: createdAt,
      });
      documents.push({
        id,
        author_id: authorId,
        title,
        content: text(CONTENT_WORDS),
        updated_at: createdAt,
      });
    }
    await trx('posts').insert(posts);
    await trx('search_posts').insert(documents);
  }
}

/** The listing reads the replica: wait until it has replayed everything written so far. */
async function replicaCaughtUp(db: Database) {
  const { rows } = await db.write.raw<{ rows: { lsn: string }[] }>(
    'select pg_current_wal_lsn()::text as lsn',
  );
  const deadline = Date.now() + REPLICA_WAIT_MS;
  for (;;) {
    const { rows: replayed } = await db.read.raw<{ rows: { behind: boolean }[] }>(
      'select pg_last_wal_replay_lsn() < ?::pg_lsn as behind',
      [rows[0]!.lsn],
    );
    if (!replayed[0]!.behind) return;
    if (Date.now() > deadline) throw new Error('the replica did not catch up with the seed');
    await sleep(200);
  }
}

export interface SeededContent {
  /** Two-word queries as a user types them: a whole word and the start of the next. */
  searchQueries: string[];
  /** A cursor for the page DEEP_PAGE pages into the newest-first listing. */
  deepCursor: string;
  close(): Promise<void>;
}

export async function seedContent(env: NodeJS.ProcessEnv): Promise<SeededContent> {
  const db = createDatabase(
    { url: env.DATABASE_URL!, readUrl: env.DATABASE_READ_URL!, poolMax: 4, readPoolMax: 1 },
    'bench-seed',
  );
  // The same corpus on every run.
  const next = seededRandom(20261202);
  const { vocabulary, text } = language(next);

  const removeCorpus = async () => {
    const authors = db.write('users').where('handle', 'like', `${HANDLE_PREFIX}%`).select('id');
    await db.write('search_posts').whereIn('author_id', authors).delete();
    // Posts go with their authors (on delete cascade).
    await db.write('users').where('handle', 'like', `${HANDLE_PREFIX}%`).delete();
  };
  await removeCorpus();

  const run = randomBytes(3).toString('hex');
  const authorIds = Array.from({ length: AUTHORS }, () => newId());
  await db.write('users').insert(
    authorIds.map((id, i) => ({
      id,
      handle: `${HANDLE_PREFIX}${run}${i}`,
      display_name: `Seed author ${i}`,
      email: `${HANDLE_PREFIX}${run}${i}@bench.example`,
      verified_at: new Date(),
    })),
  );

  // Row by row, the GIN index would take minutes to take in the corpus (its fastupdate is off:
  // see its migration), and a pending list would leave it as no index job does. Built again
  // after the rows, it is as the migration builds it; in one transaction with them, so a failed
  // seed leaves it in place.
  const { rows } = await db.write.raw<{ rows: { definition: string }[] }>(
    'select pg_get_indexdef(?::regclass) as definition',
    [SEARCH_INDEX],
  );
  await db.write.transaction(async (trx) => {
    await trx.raw(`drop index ${SEARCH_INDEX}`);
    await writeCorpus(trx, authorIds, text);
    await trx.raw(rows[0]!.definition);
  });
  // The last run's corpus left as many dead rows: vacuumed now, autovacuum has nothing left to
  // do in the middle of a measurement (on search_posts it reads the whole GIN index).
  await db.write.raw('vacuum (analyze) posts, search_posts');
  await replicaCaughtUp(db);

  const [position] = await db
    .write('posts')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .offset((DEEP_PAGE - 1) * PAGE_SIZE - 1)
    .limit(1)
    .select<{ id: string; micros: string }[]>(
      'id',
      db.write.raw('(extract(epoch from created_at) * 1000000)::bigint::text as micros'),
    );
  const deepCursor = createPostCursors(env.SESSION_SECRET!).encode(
    { createdMicros: BigInt(position!.micros), id: position!.id },
    undefined,
  );

  // A whole word and the first letters of the next, each of rank 500 to 1,500 (in 0.5 to 2 %
  // of the posts, as a topic word is): a query being typed. A query of the very commonest
  // words costs more; docs/performance.md gives both.
  const searchQueries = Array.from({ length: 50 }, (_, i) => {
    const first = vocabulary[500 + i * 20]!;
    const second = vocabulary[510 + i * 20]!;
    return `${first} ${second.slice(0, 5)}`;
  });

  return {
    searchQueries,
    deepCursor,
    async close() {
      await removeCorpus();
      await db.close();
    },
  };
}
