import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createStorage, type Storage } from '../../src/shared/clients/s3.ts';
import { storageKeys } from '../../src/shared/constants/storage-keys.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { escapeXml } from '../../worker/cron/sitemap-xml.ts';
import { runSitemap } from '../../worker/cron/sitemap.cron.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';

const NAMESPACE = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"';

function tags(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>(.*?)</${tag}>`, 'g'))].map(
    (match) => match[1] ?? '',
  );
}

describe('sitemap cron', () => {
  const baseConfig = loadWorkerConfig(process.env);
  // An ampersand in the host proves every URL is escaped on its way into the XML.
  const config = {
    ...baseConfig,
    frontend: { ...baseConfig.frontend, host: 'https://example.test/news&views' },
  };
  let storage: Storage;
  let tables: PrivateTables;

  beforeAll(async () => {
    storage = createStorage(config.storage);
    await storage.ensureBuckets();
  });

  // Only this file writes sitemaps/, so each test starts from an empty folder.
  async function clearSitemaps(): Promise<void> {
    const written: string[] = [];
    for await (const object of storage.public.list('sitemaps/')) written.push(object.key);
    await storage.public.deleteMany(written);
  }

  afterAll(async () => {
    await clearSitemaps();
    await storage.close();
  });

  // Posts in a private table: the sitemap lists every post, and other files' posts come and go.
  beforeEach(async () => {
    await clearSitemaps();
    tables = await createPrivateTables(['posts']);
  });

  afterEach(async () => {
    await tables.drop();
  });

  async function insertPosts(count: number): Promise<Array<{ id: string; updated_at: Date }>> {
    const posts = Array.from({ length: count }, (_, i) => ({
      id: newId(),
      author_id: newId(),
      title: `post ${i}`,
      storage_key: `sitemap-test/${newId()}`,
      created_at: new Date(Date.UTC(2024, 0, 1 + i)),
      updated_at: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 100 + i)),
    }));
    await tables.db.write('posts').insert(posts);
    return posts.sort((a, b) => a.id.localeCompare(b.id));
  }

  const read = async (key: string) => (await storage.public.get(key))?.toString('utf8') ?? '';

  it('When posts outnumber one part, then parts, index and escaping are right and stale parts go', async () => {
    const posts = await insertPosts(5);
    // A previous run with more posts left parts 4 and 7 behind.
    await storage.public.put(storageKeys.sitemapPart(4), '<urlset/>', 'application/xml');
    await storage.public.put(storageKeys.sitemapPart(7), '<urlset/>', 'application/xml');

    const summary = await runSitemap({ db: tables.db, storage, config }, { urlsPerFile: 2 });

    expect(summary).toEqual({ urls: 5, parts: 3, stale_parts_removed: 2 });
    const index = await read(storageKeys.sitemapIndex);
    expect(index.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(index).toContain(`<sitemapindex ${NAMESPACE}>`);
    expect(tags(index, 'loc')).toEqual(
      [1, 2, 3].map((n) => storage.public.publicUrl(storageKeys.sitemapPart(n))),
    );
    expect(tags(index, 'loc')[0]).toBe(
      `${config.storage.public.publicBaseUrl}/sitemaps/sitemap-1.xml`,
    );

    const parts = await Promise.all([1, 2, 3].map((n) => read(storageKeys.sitemapPart(n))));
    for (const part of parts) expect(part).toContain(`<urlset ${NAMESPACE}>`);
    expect(parts.map((part) => tags(part, 'loc').length)).toEqual([2, 2, 1]);
    expect(parts.flatMap((part) => tags(part, 'loc'))).toEqual(
      posts.map((post) => `https://example.test/news&amp;views/posts/${post.id}`),
    );
    expect(parts.flatMap((part) => tags(part, 'lastmod'))).toEqual(
      posts.map((post) => post.updated_at.toISOString()),
    );
    expect(await storage.public.get(storageKeys.sitemapPart(4))).toBeUndefined();
    expect(await storage.public.get(storageKeys.sitemapPart(7))).toBeUndefined();
  });

  it('When there are no posts, then the index is empty and every old part is removed', async () => {
    await storage.public.put(storageKeys.sitemapPart(1), '<urlset/>', 'application/xml');
    await storage.public.put(storageKeys.sitemapPart(2), '<urlset/>', 'application/xml');

    const summary = await runSitemap({ db: tables.db, storage, config });

    expect(summary).toEqual({ urls: 0, parts: 0, stale_parts_removed: 2 });
    expect(tags(await read(storageKeys.sitemapIndex), 'loc')).toEqual([]);
    expect(await storage.public.get(storageKeys.sitemapPart(1))).toBeUndefined();
  });

  it('When a post walk spans several keyset pages, then every post is listed once', async () => {
    const posts = await insertPosts(2100);

    const summary = await runSitemap({ db: tables.db, storage, config }, { urlsPerFile: 1500 });

    expect(summary).toMatchObject({ urls: 2100, parts: 2 });
    const locs = [
      ...tags(await read(storageKeys.sitemapPart(1)), 'loc'),
      ...tags(await read(storageKeys.sitemapPart(2)), 'loc'),
    ];
    expect(locs).toEqual(
      posts.map((post) => `https://example.test/news&amp;views/posts/${post.id}`),
    );
  });

  it('When text has XML special characters, then all five are escaped', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
  });
});
