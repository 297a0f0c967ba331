import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeilisearchEngine } from '../../src/shared/clients/search/meilisearch-engine.ts';
import type { SearchEngine } from '../../src/shared/clients/search/search-engine.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { startMeilisearchServer, type MeilisearchServer } from '../support/meilisearch-server.ts';

let server: MeilisearchServer;
let search: SearchEngine;

beforeAll(async () => {
  server = await startMeilisearchServer();
  search = createMeilisearchEngine({ url: server.url, apiKey: server.apiKey });
});

afterAll(async () => {
  await search?.close();
  await server?.close();
});

const post = (title: string, content: string) => ({
  id: newId(),
  author_id: newId(),
  title,
  content,
  updated_at: new Date('2026-03-01T00:00:00Z'),
});

describe('Meilisearch search engine', () => {
  it('When settings are applied twice, then both indexes exist with the settings SPEC gives and the second run succeeds', async () => {
    await search.applySettings();
    await search.applySettings();

    expect(server.indexes.get('posts')).toMatchObject({
      primaryKey: 'id',
      settings: {
        searchableAttributes: ['title', 'content'],
        filterableAttributes: ['author_id'],
      },
    });
    expect(server.indexes.get('users')).toMatchObject({
      primaryKey: 'id',
      settings: { searchableAttributes: ['handle', 'display_name', 'bio'] },
    });
  });

  it('When a post is indexed, then it is stored as SPEC shows and found by a word prefix with a highlighted snippet', async () => {
    const doc = post('Looms', 'The analytical engine weaves algebraic patterns.');
    await search.indexPost(doc);

    expect(server.indexes.get('posts')?.documents.get(doc.id)).toEqual({
      id: doc.id,
      author_id: doc.author_id,
      title: 'Looms',
      content: doc.content,
      updated_at: doc.updated_at.getTime(),
    });
    const result = await search.searchPosts({ q: 'algebr', page: 1, pageSize: 10 });
    expect(result).toEqual({
      hits: [
        {
          id: doc.id,
          author_id: doc.author_id,
          title: 'Looms',
          snippet: 'The analytical engine weaves <mark>algebraic</mark> patterns.',
        },
      ],
      total_hits: 1,
    });
  });

  it('When a post holds markup and forged highlight markers, then the snippet escapes the markup and marks only real matches', async () => {
    const doc = post('Escapes', 'zzscript <script>alert(1)</script> \uE000forged\uE001 end');
    await search.indexPost(doc);

    const [hit] = (await search.searchPosts({ q: 'zzscript', page: 1, pageSize: 10 })).hits;

    expect(hit?.snippet).toBe(
      '<mark>zzscript</mark> &lt;script&gt;alert(1)&lt;/script&gt; forged end',
    );
  });

  it('When a post is deleted, then it is no longer found', async () => {
    const doc = post('Gone', 'ephemeralword here');
    await search.indexPost(doc);
    await search.deletePost(doc.id);

    expect(await search.searchPosts({ q: 'ephemeralword', page: 1, pageSize: 10 })).toEqual({
      hits: [],
      total_hits: 0,
    });
  });

  it('When users are indexed, then a handle prefix finds one and an empty query lists them by handle', async () => {
    const zed = {
      id: newId(),
      handle: 'zed_m',
      display_name: 'Zed',
      bio: null,
      profile_image_url: null,
    };
    const amy = {
      id: newId(),
      handle: 'amy_m',
      display_name: 'Amy',
      bio: 'Knits.',
      profile_image_url: 'http://img/a.webp',
    };
    await search.indexUser(zed);
    await search.indexUser(amy);

    expect(await search.searchUsers({ q: 'amy', page: 1, pageSize: 10 })).toEqual({
      hits: [amy],
      total_hits: 1,
    });
    expect((await search.searchUsers({ q: '', page: 1, pageSize: 10 })).hits).toEqual([amy, zed]);

    await search.deleteUser(zed.id);
    expect((await search.searchUsers({ q: 'zed', page: 1, pageSize: 10 })).total_hits).toBe(0);
  });

  it('When the server refuses the API key, then a search fails instead of answering empty', async () => {
    const wrongKey = createMeilisearchEngine({ url: server.url, apiKey: 'not-the-key' });

    await expect(wrongKey.searchPosts({ q: 'x', page: 1, pageSize: 10 })).rejects.toThrow(
      /invalid/i,
    );
  });

  it('When a write task fails, then the write throws with the task error', async () => {
    const fresh = await startMeilisearchServer();
    const engine = createMeilisearchEngine({ url: fresh.url, apiKey: fresh.apiKey });
    try {
      await engine.applySettings();
      // An index made by hand with another primary key: the addition naming `id` is refused.
      fresh.indexes.get('posts')!.primaryKey = 'uuid';
      await engine.indexPost(post('T', 'c')).then(
        () => expect.unreachable('the write should fail'),
        (error: unknown) => {
          expect(String(error)).toMatch(/index post failed: .*primary key/);
        },
      );
    } finally {
      await fresh.close();
    }
  });
});
