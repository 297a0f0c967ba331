import type { Knex } from 'knex';
import { createExpressKitClient } from '../../../client/src/index.ts';
import { eventually } from '../../support/wait.ts';
import { allowedValues, type FieldWrite, type Ledger, type ProfileEntry } from './load-ledger.ts';

const hasAcknowledgedEdit = (profile: ProfileEntry) =>
  [...profile.displayName.slice(1), ...profile.bio.slice(1)].some((w) => w.outcome === 'acked');

export interface WriteCheck {
  /** Acknowledged writes whose effect was looked for: posts, profiles, logins. */
  checked: number;
  /** One line per acknowledged write that was not found as written. */
  lost: string[];
}

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 60);

function expectOneOf<T>(what: string, writes: FieldWrite<T>[], got: T, lost: string[]): void {
  const allowed = allowedValues(writes);
  if (allowed && !allowed.includes(got)) {
    lost.push(`${what}: read ${show(got)}, acknowledged ${show(allowed.at(0))}`);
  }
}

/**
 * Reads every post and profile the load wrote back through the API, as any client would,
 * and checks each login it was told succeeded left its auth:login action log. Public
 * profiles are read from the replica, which may lag (a restarted primary's replica
 * reconnects within wal_retrieve_retry_interval, 5 s), so the reads are repeated until
 * they match or `catchUpMs` has passed.
 */
export async function verifyAcknowledgedWrites(
  baseUrl: string,
  db: Knex,
  ledger: Ledger,
  catchUpMs: number,
): Promise<WriteCheck> {
  let check: WriteCheck = { checked: 0, lost: [] };
  await eventually(async () => {
    check = await readBack(baseUrl, db, ledger);
    return check.lost.length === 0;
  }, catchUpMs).catch(() => undefined);
  return check;
}

async function readBack(baseUrl: string, db: Knex, ledger: Ledger): Promise<WriteCheck> {
  const client = createExpressKitClient({
    baseUrl,
    headers: { 'x-forwarded-for': '10.255.255.254' },
  });
  const lost: string[] = [];
  let checked = 0;
  for (const post of ledger.posts.values()) {
    checked += 1;
    const { data, response } = await client.GET('/v0/posts/{id}', {
      params: { path: { id: post.id } },
    });
    if (!data) {
      lost.push(`post ${post.id}: read answered ${response.status}`);
      continue;
    }
    expectOneOf(`post ${post.id} title`, post.title, data.title, lost);
    expectOneOf(`post ${post.id} content`, post.content, data.content, lost);
  }
  for (const profile of ledger.profiles.values()) {
    checked += 1;
    const { data, response } = await client.GET('/v0/users/profile/id', {
      params: { query: { user_id: profile.userId } },
    });
    if (!data) {
      lost.push(`user ${profile.userId}: read answered ${response.status}`);
      continue;
    }
    expectOneOf(
      `user ${profile.userId} display_name`,
      profile.displayName,
      data.display_name,
      lost,
    );
    expectOneOf(`user ${profile.userId} bio`, profile.bio, data.bio, lost);
  }
  for (const [userId, login] of ledger.logins) {
    checked += 1;
    const [row] = await db('action_logs')
      .where({ actor_id: userId, action: 'auth:login' })
      .count<{ count: number }[]>('* as count');
    const count = Number(row?.count ?? 0);
    if (count < login.acked) {
      lost.push(`user ${userId}: ${login.acked} logins acknowledged, ${count} auth:login logs`);
    }
  }
  return { checked, lost };
}

/**
 * The search documents converge on what the API reads: every index job queued by an
 * acknowledged write was delivered and handled. Waits up to `timeoutMs`, then reports what
 * is still missing or stale.
 */
export async function verifySearchIndex(
  baseUrl: string,
  db: Knex,
  ledger: Ledger,
  timeoutMs: number,
): Promise<string[]> {
  const client = createExpressKitClient({
    baseUrl,
    headers: { 'x-forwarded-for': '10.255.255.253' },
  });
  const expected = new Map<string, { title: string; content: string }>();
  for (const post of ledger.posts.values()) {
    const { data } = await client.GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    if (data) expected.set(post.id, { title: data.title, content: data.content });
  }
  const profiles = new Map<string, { display_name: string; bio: string | null }>();
  for (const profile of ledger.profiles.values()) {
    const { data } = await client.GET('/v0/users/profile/id', {
      params: { query: { user_id: profile.userId } },
    });
    if (data) profiles.set(profile.userId, { display_name: data.display_name, bio: data.bio });
  }

  let stale: string[] = [];
  const check = async () => {
    stale = [];
    const posts: { id: string; title: string; content: string }[] = await db('search_posts')
      .whereIn('id', [...expected.keys()])
      .select('id', 'title', 'content');
    const indexed = new Map(posts.map((p) => [p.id, p]));
    for (const [id, want] of expected) {
      const got = indexed.get(id);
      if (got?.title !== want.title || got.content !== want.content)
        stale.push(`post ${id}: ${got ? 'stale' : 'not indexed'}`);
    }
    const users: { id: string; display_name: string; bio: string | null }[] = await db(
      'search_users',
    )
      .whereIn('id', [...profiles.keys()])
      .select('id', 'display_name', 'bio');
    const indexedUsers = new Map(users.map((u) => [u.id, u]));
    for (const [id, want] of profiles) {
      const got = indexedUsers.get(id);
      // Only an edit queues a user's index job; the initial values are the first entries.
      if (!got && !hasAcknowledgedEdit(ledger.profiles.get(id)!)) continue;
      if (got?.display_name !== want.display_name || got.bio !== want.bio)
        stale.push(`user ${id}: ${got ? 'stale' : 'not indexed'}`);
    }
    return stale.length === 0;
  };
  await eventually(check, timeoutMs).catch(() => undefined);
  return stale;
}
