import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationSettings } from '../../knexfile.ts';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createPostgresSearchEngine } from '../../src/shared/clients/search/postgres-engine.ts';
import type {
  PostDocument,
  SearchEngine,
  UserDocument,
} from '../../src/shared/clients/search/search-engine.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';

/** A word no other test's data contains, so counts and rankings are this test's own. */
function uniqueWord(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`.replace(
    /\d/g,
    (d) => 'abcdefghij'[Number(d)] ?? 'x',
  );
}

function post(overrides: Partial<PostDocument> = {}): PostDocument {
  return {
    id: newId(),
    author_id: newId(),
    title: 'A post',
    content: 'Some content.',
    updated_at: new Date(),
    ...overrides,
  };
}

function user(overrides: Partial<UserDocument> = {}): UserDocument {
  return {
    id: newId(),
    handle: uniqueWord('u'),
    display_name: 'Someone',
    bio: null,
    profile_image_url: null,
    ...overrides,
  };
}

const filler = (n: number) =>
  Array.from({ length: n }, (_, i) => `filler${'abcdefghij'[i % 10]}`).join(' ');

describe('PostgreSQL search engine', () => {
  let db: Database;
  let search: SearchEngine;

  beforeAll(async () => {
    db = createDatabase(loadWorkerConfig(process.env).database);
    await db.write.migrate.latest(migrationSettings);
    search = createPostgresSearchEngine(db.write);
  });

  afterAll(async () => {
    await search?.close();
    await db?.close();
  });

  describe('posts', () => {
    it('When a post is indexed, then a word of its content finds it with a snippet around the word, the word highlighted', async () => {
      const word = uniqueWord('kw');
      const doc = post({
        title: 'Snippets',
        content: `${filler(120)} the ${word} appears here ${filler(120)}`,
      });
      await search.indexPost(doc);

      const result = await search.searchPosts({ q: word, page: 1, pageSize: 10 });

      expect(result.total_hits).toBe(1);
      const [hit] = result.hits;
      expect(hit).toMatchObject({ id: doc.id, author_id: doc.author_id, title: 'Snippets' });
      expect(hit?.snippet).toContain(`<mark>${word}</mark> appears here`);
      expect(hit?.snippet.length).toBeLessThan(doc.content.length / 2);
    });

    it('When a post holds markup and forged highlight markers, then the snippet escapes the markup and marks only the match', async () => {
      const word = uniqueWord('xs');
      await search.indexPost(
        post({ content: `${word} <script>alert("x")</script> & \uE000forged\uE001 it's` }),
      );

      const [hit] = (await search.searchPosts({ q: word, page: 1, pageSize: 10 })).hits;

      expect(hit?.snippet).toContain(
        `<mark>${word}</mark> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; forged`,
      );
      // No tag but the highlight's survives, whatever the excerpt's cut.
      expect(hit?.snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>"]/);
    });

    it('When a query ends in the start of a word, then posts with that word are found as the user types', async () => {
      const word = uniqueWord('pfx');
      const doc = post({ title: `Notes on ${word}`, content: 'Looms and engines.' });
      await search.indexPost(doc);

      const typing = await search.searchPosts({
        q: `notes ${word.slice(0, 6)}`,
        page: 1,
        pageSize: 10,
      });
      const withSyntax = await search.searchPosts({
        q: `"${word.slice(0, 6)}"`,
        page: 1,
        pageSize: 10,
      });

      expect(typing.hits.map((h) => h.id)).toContain(doc.id);
      expect(withSyntax.hits.map((h) => h.id)).not.toContain(doc.id);
    });

    it('When one post matches in its title and another only in its content, then the title match ranks first', async () => {
      const word = uniqueWord('rk');
      const inContent = post({ title: 'Unrelated', content: `about ${word} in passing` });
      const inTitle = post({ title: `All about ${word}`, content: 'Nothing else.' });
      await search.indexPost(inContent);
      await search.indexPost(inTitle);

      const result = await search.searchPosts({ q: word, page: 1, pageSize: 10 });

      expect(result.hits.map((h) => h.id)).toEqual([inTitle.id, inContent.id]);
    });

    it('When results span pages, then each page holds its share and the total counts them all', async () => {
      const word = uniqueWord('pg');
      for (let i = 0; i < 3; i++) await search.indexPost(post({ content: `${word} number ${i}` }));

      const first = await search.searchPosts({ q: word, page: 1, pageSize: 2 });
      const second = await search.searchPosts({ q: word, page: 2, pageSize: 2 });
      const beyond = await search.searchPosts({ q: word, page: 3, pageSize: 2 });

      expect([first.hits.length, second.hits.length, beyond.hits.length]).toEqual([2, 1, 0]);
      expect([first.total_hits, second.total_hits]).toEqual([3, 3]);
      expect(new Set([...first.hits, ...second.hits].map((h) => h.id)).size).toBe(3);
    });

    it('When the query uses web search syntax, then phrases and exclusions apply', async () => {
      const word = uniqueWord('ws');
      const red = post({ content: `${word} red apple` });
      const green = post({ content: `${word} green apple` });
      await search.indexPost(red);
      await search.indexPost(green);

      const excluded = await search.searchPosts({ q: `${word} -green`, page: 1, pageSize: 10 });
      const phrase = await search.searchPosts({ q: `"${word} green"`, page: 1, pageSize: 10 });

      expect(excluded.hits.map((h) => h.id)).toEqual([red.id]);
      expect(phrase.hits.map((h) => h.id)).toEqual([green.id]);
    });

    it('When the query is made of tsquery operators only, then it returns nothing instead of failing', async () => {
      const result = await search.searchPosts({ q: `& | ! :* ( ) ' "`, page: 1, pageSize: 10 });
      expect(result).toEqual({ hits: [], total_hits: 0 });
    });

    it('When an older version is indexed after a newer one, then the newer version is kept', async () => {
      const oldWord = uniqueWord('old');
      const newWord = uniqueWord('new');
      const doc = post({ content: newWord, updated_at: new Date('2026-02-01T00:00:00Z') });
      await search.indexPost(doc);
      await search.indexPost({
        ...doc,
        content: oldWord,
        updated_at: new Date('2026-01-01T00:00:00Z'),
      });

      expect((await search.searchPosts({ q: newWord, page: 1, pageSize: 10 })).total_hits).toBe(1);
      expect((await search.searchPosts({ q: oldWord, page: 1, pageSize: 10 })).total_hits).toBe(0);
    });

    it('When a post is re-indexed with new content, then only the new content matches', async () => {
      const before = uniqueWord('bf');
      const after = uniqueWord('af');
      const doc = post({ content: before, updated_at: new Date('2026-01-01T00:00:00Z') });
      await search.indexPost(doc);
      await search.indexPost({
        ...doc,
        content: after,
        updated_at: new Date('2026-01-02T00:00:00Z'),
      });

      expect((await search.searchPosts({ q: before, page: 1, pageSize: 10 })).total_hits).toBe(0);
      expect((await search.searchPosts({ q: after, page: 1, pageSize: 10 })).hits[0]?.id).toBe(
        doc.id,
      );
    });

    it('When a post is deleted, then it is no longer found, and deleting it again succeeds', async () => {
      const word = uniqueWord('dl');
      const doc = post({ content: word });
      await search.indexPost(doc);

      await search.deletePost(doc.id);
      await search.deletePost(doc.id);

      expect((await search.searchPosts({ q: word, page: 1, pageSize: 10 })).total_hits).toBe(0);
    });
  });

  describe('users', () => {
    it('When a user is indexed, then the start of the handle or of the display name finds it', async () => {
      const handle = uniqueWord('h');
      const surname = uniqueWord('Sn');
      const doc = user({
        handle,
        display_name: `Ada ${surname}`,
        bio: 'Writes compilers.',
        profile_image_url: 'http://img/a.webp',
      });
      await search.indexUser(doc);

      const byHandle = await search.searchUsers({ q: handle.slice(0, -3), page: 1, pageSize: 10 });
      const byName = await search.searchUsers({
        q: `ada ${surname.slice(0, 9)}`,
        page: 1,
        pageSize: 10,
      });

      expect(byHandle).toEqual({ hits: [doc], total_hits: 1 });
      expect(byName.hits.map((h) => h.id)).toEqual([doc.id]);
    });

    it('When a word of the bio is searched, then the user is found', async () => {
      const word = uniqueWord('bio');
      const doc = user({ bio: `Loves ${word} and tea.` });
      await search.indexUser(doc);

      expect(
        (await search.searchUsers({ q: word, page: 1, pageSize: 10 })).hits.map((h) => h.id),
      ).toEqual([doc.id]);
    });

    it('When one handle equals the query and another only starts with it, then the exact handle comes first', async () => {
      const handle = uniqueWord('ex');
      const longer = user({ handle: `${handle}aa` });
      const exact = user({ handle });
      await search.indexUser(longer);
      await search.indexUser(exact);

      const result = await search.searchUsers({ q: `@${handle}`, page: 1, pageSize: 10 });

      expect(result.hits.map((h) => h.id)).toEqual([exact.id, longer.id]);
    });

    it('When the query is empty, then users are listed by handle', async () => {
      await search.indexUser(user());
      await search.indexUser(user());

      const result = await search.searchUsers({ q: '', page: 1, pageSize: 50 });

      expect(result.total_hits).toBeGreaterThanOrEqual(2);
      const handles = result.hits.map((h) => h.handle.toLowerCase());
      expect(handles).toEqual([...handles].sort());
    });

    it('When a user is re-indexed and then deleted, then the change and the removal are visible', async () => {
      const before = uniqueWord('nm');
      const after = uniqueWord('nm');
      const doc = user({ display_name: before });
      await search.indexUser(doc);
      await search.indexUser({ ...doc, display_name: after });

      expect((await search.searchUsers({ q: before, page: 1, pageSize: 10 })).total_hits).toBe(0);
      expect((await search.searchUsers({ q: after, page: 1, pageSize: 10 })).hits).toEqual([
        { ...doc, display_name: after },
      ]);

      await search.deleteUser(doc.id);
      expect((await search.searchUsers({ q: after, page: 1, pageSize: 10 })).total_hits).toBe(0);
    });
  });
});
