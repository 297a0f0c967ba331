import { lockImageKeys } from '../../src/modules/users/user-images.repository.ts';
import type { Bucket } from '../../src/shared/clients/s3.ts';
import { withTransaction } from '../../src/shared/db/transaction.ts';
import { defineCronJob, type CronDependencies, type CronSummary } from './cron-job.ts';
import { findPostStorageKeys, findUserImageKeys } from './orphan-blobs.repository.ts';

/** Where storageKeys.postContent and storageKeys.userImage put their objects. */
export const ORPHAN_SCAN_PREFIXES = { content: 'posts/', images: 'user-images/' } as const;

// Writers upload the object before committing the row that names it; an hour is far longer
// than that window, so an object younger than this may be about to be referenced.
const MIN_AGE_MS = 3_600_000;
const CHECK_BATCH = 500;

export interface OrphanBlobsOptions {
  olderThanMs?: number;
  /** Narrower prefixes to scan; tests use them to stay inside their own keys in shared buckets. */
  prefixes?: { content: string; images: string };
  signal?: AbortSignal;
}

export async function runOrphanBlobs(
  deps: Pick<CronDependencies, 'db' | 'storage'>,
  options: OrphanBlobsOptions = {},
): Promise<CronSummary> {
  const prefixes = options.prefixes ?? ORPHAN_SCAN_PREFIXES;
  const sweep = {
    cutoff: Date.now() - (options.olderThanMs ?? MIN_AGE_MS),
    signal: options.signal,
  };
  // The primary: a replica a moment behind could call a just-referenced object an orphan.
  const db = deps.db.write;
  const content = await sweepBucket(deps.storage.content, prefixes.content, sweep, async (keys) => {
    const referenced = await findPostStorageKeys(db, keys);
    return deleteUnreferenced(deps.storage.content, keys, referenced);
  });
  // Image keys are shared by content, so an upload may be writing an old orphan's key again
  // right now: under the keys' locks, such an upload has either committed its reference
  // (and the object stays) or not yet written the object (and writes it after this delete).
  const images = await sweepBucket(deps.storage.public, prefixes.images, sweep, (keys) =>
    withTransaction(db, async (trx) => {
      await lockImageKeys(trx, keys);
      const referenced = await findUserImageKeys(trx, keys);
      return deleteUnreferenced(deps.storage.public, keys, referenced);
    }),
  );
  return {
    content_scanned: content.scanned,
    content_deleted: content.deleted,
    images_scanned: images.scanned,
    images_deleted: images.deleted,
  };
}

async function deleteUnreferenced(
  bucket: Bucket,
  keys: readonly string[],
  referenced: Set<string>,
): Promise<number> {
  const orphans = keys.filter((key) => !referenced.has(key));
  await bucket.deleteMany(orphans);
  return orphans.length;
}

/**
 * Lists the prefix and hands old objects to `sweepBatch` a batch at a time, which deletes the
 * unreferenced ones and says how many.
 */
async function sweepBucket(
  bucket: Bucket,
  prefix: string,
  sweep: { cutoff: number; signal: AbortSignal | undefined },
  sweepBatch: (keys: readonly string[]) => Promise<number>,
): Promise<{ scanned: number; deleted: number }> {
  let scanned = 0;
  let deleted = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    deleted += await sweepBatch(batch);
    batch = [];
  };
  for await (const object of bucket.list(prefix)) {
    sweep.signal?.throwIfAborted();
    scanned += 1;
    if (object.lastModified.getTime() > sweep.cutoff) continue;
    batch.push(object.key);
    if (batch.length === CHECK_BATCH) await flush();
  }
  await flush();
  return { scanned, deleted };
}

export const orphanBlobsCronJob = defineCronJob({
  name: 'orphan-blobs',
  schedule: (config) => config.cron.schedules.orphanBlobs,
  run: ({ deps, signal }) => runOrphanBlobs(deps, { signal }),
});
