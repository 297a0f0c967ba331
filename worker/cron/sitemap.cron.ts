import { storageKeys } from '../../src/shared/constants/storage-keys.ts';
import { listAfterId } from '../../src/modules/posts/posts.repository.ts';
import type { PublicBucket } from '../../src/shared/clients/s3.ts';
import { defineCronJob, type CronDependencies, type CronSummary } from './cron-job.ts';
import { renderSitemapIndex, renderUrlset, type SitemapEntry } from './sitemap-xml.ts';

// The protocol's cap per sitemap file.
const URLS_PER_FILE = 50_000;
const PAGE_SIZE = 1000;
const XML = 'application/xml; charset=utf-8';

export interface SitemapOptions {
  urlsPerFile?: number;
  signal?: AbortSignal;
}

/**
 * Streams posts by id, uploading each part as soon as it is full so memory stays at one part.
 * The index is written after every part exists and stale parts are removed after the index no
 * longer names them, so a crawler never follows a link to a missing file.
 */
export async function runSitemap(
  deps: Pick<CronDependencies, 'db' | 'storage' | 'config'>,
  options: SitemapOptions = {},
): Promise<CronSummary> {
  const bucket = deps.storage.public;
  const urlsPerFile = options.urlsPerFile ?? URLS_PER_FILE;
  const postsBase = `${deps.config.frontend.host}/posts/`;
  const written: SitemapEntry[] = [];
  let part: SitemapEntry[] = [];
  let urls = 0;

  const uploadPart = async () => {
    const key = storageKeys.sitemapPart(written.length + 1);
    await bucket.put(key, renderUrlset(part), XML);
    written.push({ loc: bucket.publicUrl(key) ?? key, lastmod: new Date() });
    part = [];
  };

  let afterId: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    // The replica is fine: a post a moment too new simply waits for next week's sitemap.
    const rows = await listAfterId(deps.db.read, afterId, PAGE_SIZE);
    for (const row of rows) {
      part.push({ loc: postsBase + encodeURIComponent(row.id), lastmod: row.updated_at });
      urls += 1;
      if (part.length === urlsPerFile) await uploadPart();
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE_SIZE) break;
    afterId = last.id;
  }
  if (part.length > 0) await uploadPart();

  await bucket.put(storageKeys.sitemapIndex, renderSitemapIndex(written), XML);
  const stale = await findStaleParts(bucket, written.length);
  await bucket.deleteMany(stale);
  return { urls, parts: written.length, stale_parts_removed: stale.length };
}

/** Parts numbered past this run's last one, left by an earlier run with more posts. */
async function findStaleParts(bucket: PublicBucket, partCount: number): Promise<string[]> {
  const folder = storageKeys.sitemapIndex.slice(0, storageKeys.sitemapIndex.lastIndexOf('/') + 1);
  const stale: string[] = [];
  for await (const object of bucket.list(folder)) {
    const n = Number(/(\d+)\.xml$/.exec(object.key)?.[1]);
    if (n > partCount && storageKeys.sitemapPart(n) === object.key) stale.push(object.key);
  }
  return stale;
}

export const sitemapCronJob = defineCronJob({
  name: 'sitemap',
  schedule: (config) => config.cron.schedules.sitemap,
  run: ({ deps, signal }) => runSitemap(deps, { signal }),
});
