import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_TOTAL_HITS,
  createPostgresSearchEngine,
} from '../../src/shared/clients/search/postgres-engine.ts';
import type { SearchEngine } from '../../src/shared/clients/search/search-engine.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';

/** A word no other document contains (letters only: the tokenizer splits digits off). */
const uniqueWord = (prefix: string) =>
  `${prefix}${randomBytes(5).toString('hex')}`.replace(/\d/g, (d) => 'abcdefghij'[Number(d)]!);

let tables: PrivateTables;
let engine: SearchEngine;

beforeAll(async () => {
  tables = await createPrivateTables(['search_posts']);
  engine = createPostgresSearchEngine(tables.db.write);
});

afterAll(async () => {
  await tables?.drop();
});

const document = (title: string, content: string) => ({
  id: newId(),
  author_id: newId(),
  title,
  content,
  updated_at: new Date(),
});

describe('the PostgreSQL engine', () => {
  it('When a query matches more posts than MAX_TOTAL_HITS, then it counts and pages that many and a page past them is empty', async () => {
    const word = uniqueWord('common');
    const rows = Array.from({ length: MAX_TOTAL_HITS + 50 }, (_, i) =>
      document(`Post ${i}`, `${word} and other words`),
    );
    await tables.db.write('search_posts').insert(rows);
    const pageSize = 50;
    const lastPage = MAX_TOTAL_HITS / pageSize;

    const first = await engine.searchPosts({ q: word, page: 1, pageSize });
    const last = await engine.searchPosts({ q: word, page: lastPage, pageSize });
    const past = await engine.searchPosts({ q: word, page: lastPage + 1, pageSize });

    expect(first.total_hits).toBe(MAX_TOTAL_HITS);
    expect(first.hits).toHaveLength(pageSize);
    expect(last.hits).toHaveLength(pageSize);
    expect(past).toEqual({ hits: [], total_hits: MAX_TOTAL_HITS });
  });

  it('When a query has several words, then only the last is a prefix: an earlier word must be whole', async () => {
    const first = uniqueWord('kestrel');
    const last = uniqueWord('falcon');
    const whole = document('Whole', `${first} ${last}`);
    const longer = document('Longer', `${first}s ${last}`);
    await engine.indexPost(whole);
    await engine.indexPost(longer);

    const typed = await engine.searchPosts({
      q: `${first} ${last.slice(0, 8)}`,
      page: 1,
      pageSize: 10,
    });
    const earlierAsPrefix = await engine.searchPosts({
      q: `${first.slice(0, 9)} ${last}`,
      page: 1,
      pageSize: 10,
    });

    expect(typed.hits.map((hit) => hit.id)).toEqual([whole.id]);
    expect(earlierAsPrefix).toEqual({ hits: [], total_hits: 0 });
  });

  it('When a query uses web search syntax, then a phrase must appear in order and an excluded word keeps a post out', async () => {
    const topic = uniqueWord('orrery');
    const other = uniqueWord('gears');
    const inOrder = document('In order', `${topic} ${other} turning`);
    const reversed = document('Reversed', `${other} ${topic} turning`);
    await engine.indexPost(inOrder);
    await engine.indexPost(reversed);
    const ids = async (q: string) =>
      (await engine.searchPosts({ q, page: 1, pageSize: 10 })).hits.map((hit) => hit.id).sort();

    expect(await ids(`"${topic} ${other}"`)).toEqual([inOrder.id]);
    expect(await ids(`${topic} -"${other} ${topic}"`)).toEqual([inOrder.id]);
    expect(await ids(`${topic} ${other}`)).toEqual([inOrder.id, reversed.id].sort());
  });
});
