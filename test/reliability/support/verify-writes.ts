import type { Knex } from 'knex';
import type { Bucket } from '../../../src/shared/clients/s3.ts';
import { settles } from '../../support/wait.ts';
import { allowedValues, type FieldWrite, type Ledger, type ProfileEntry } from './load-ledger.ts';

const isUnedited = (profile: ProfileEntry, stored: { display_name: string; bio: string | null }) =>
  ![...profile.displayName.slice(1), ...profile.bio.slice(1)].some((w) => w.outcome === 'acked') &&
  stored.display_name === profile.displayName[0]!.value &&
  stored.bio === profile.bio[0]!.value;

/**
 * A login's auth:login row is stamped by the database's clock inside the request; the client's
 * clock on the same host brackets it. The slack covers timestamp rounding only: one user's
 * logins are at least 8 s apart, so no row can fall in two logins' windows.
 */
const LOGIN_STAMP_SLACK_MS = 1_000;

/** What the primary and the content store hold now for the posts and users the load wrote. */
export interface StoredState {
  posts: Map<string, { title: string; content: string }>;
  users: Map<string, { display_name: string; bio: string | null }>;
}

export interface WriteCheck {
  /** Acknowledged writes whose effect was looked for: posts, profiles, logins. */
  checked: number;
  /** One line per acknowledged write that was not found as written. */
  lost: string[];
  stored: StoredState;
}

/** How many checks `verifyAcknowledgedWrites` must make for this ledger: one per entry. */
export function acknowledgedInLedger(ledger: Ledger): number {
  let logins = 0;
  for (const attempts of ledger.logins.values()) {
    logins += attempts.filter((a) => a.outcome === 'acked').length;
  }
  return ledger.posts.size + ledger.profiles.size + logins;
}

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 60);

function expectOneOf<T>(what: string, writes: FieldWrite<T>[], got: T, lost: string[]): void {
  const allowed = allowedValues(writes);
  if (allowed && !allowed.includes(got)) {
    lost.push(`${what}: read ${show(got)}, acknowledged ${show(allowed.at(0))}`);
  }
}

/**
 * Reads every post and profile the load wrote from where they are kept, the primary and the
 * content store (object posts/{id}), not through the API, whose post cache the load itself
 * filled and would hide a row or a body lost underneath it. Each acknowledged login must have
 * left its own auth:login row, stamped between its request and its answer.
 */
export async function verifyAcknowledgedWrites(
  primary: Knex,
  content: Bucket,
  ledger: Ledger,
): Promise<WriteCheck> {
  const lost: string[] = [];
  const stored: StoredState = { posts: new Map(), users: new Map() };
  let checked = 0;

  const postRows: { id: string; title: string; storage_key: string }[] = await primary('posts')
    .whereIn('id', [...ledger.posts.keys()])
    .select('id', 'title', 'storage_key');
  const posts = new Map(postRows.map((row) => [row.id, row]));
  for (const post of ledger.posts.values()) {
    checked += 1;
    const row = posts.get(post.id);
    if (!row) {
      lost.push(`post ${post.id}: no row in the primary`);
      continue;
    }
    const body = await content.get(row.storage_key);
    if (!body) {
      lost.push(`post ${post.id}: no object ${row.storage_key} in the content store`);
      continue;
    }
    stored.posts.set(post.id, { title: row.title, content: body.toString('utf8') });
    expectOneOf(`post ${post.id} title`, post.title, row.title, lost);
    expectOneOf(`post ${post.id} content`, post.content, body.toString('utf8'), lost);
  }

  const userRows: { id: string; display_name: string; bio: string | null }[] = await primary(
    'users',
  )
    .whereIn('id', [...ledger.profiles.keys()])
    .select('id', 'display_name', 'bio');
  const users = new Map(userRows.map((row) => [row.id, row]));
  for (const profile of ledger.profiles.values()) {
    checked += 1;
    const row = users.get(profile.userId);
    if (!row) {
      lost.push(`user ${profile.userId}: no row in the primary`);
      continue;
    }
    stored.users.set(profile.userId, { display_name: row.display_name, bio: row.bio });
    expectOneOf(`user ${row.id} display_name`, profile.displayName, row.display_name, lost);
    expectOneOf(`user ${row.id} bio`, profile.bio, row.bio, lost);
  }

  for (const [userId, attempts] of ledger.logins) {
    const stamps: { created_at: Date }[] = await primary('action_logs')
      .where({ actor_id: userId, action: 'auth:login' })
      .select('created_at');
    for (const login of attempts.filter((a) => a.outcome === 'acked')) {
      checked += 1;
      const logged = stamps.some(
        ({ created_at }) =>
          created_at.getTime() >= login.sentAt - LOGIN_STAMP_SLACK_MS &&
          created_at.getTime() <= login.answeredAt + LOGIN_STAMP_SLACK_MS,
      );
      if (!logged) {
        lost.push(
          `user ${userId}: login acknowledged at ${new Date(login.answeredAt).toISOString()} ` +
            `has no auth:login row stamped during it`,
        );
      }
    }
  }
  return { checked, lost, stored };
}

/**
 * The search documents converge on what the primary and the content store hold: every index
 * job queued by a write was delivered and handled. Waits up to `timeoutMs`, then reports what
 * is still missing or stale.
 */
export async function verifySearchIndex(
  primary: Knex,
  stored: StoredState,
  ledger: Ledger,
  timeoutMs: number,
): Promise<string[]> {
  let stale: string[] = [];
  const check = async () => {
    const found: string[] = [];
    const posts: { id: string; title: string; content: string }[] = await primary('search_posts')
      .whereIn('id', [...stored.posts.keys()])
      .select('id', 'title', 'content');
    const indexed = new Map(posts.map((p) => [p.id, p]));
    for (const [id, want] of stored.posts) {
      const got = indexed.get(id);
      if (got?.title !== want.title || got.content !== want.content)
        found.push(`post ${id}: ${got ? 'stale' : 'not indexed'}`);
    }
    const users: { id: string; display_name: string; bio: string | null }[] = await primary(
      'search_users',
    )
      .whereIn('id', [...stored.users.keys()])
      .select('id', 'display_name', 'bio');
    const indexedUsers = new Map(users.map((u) => [u.id, u]));
    for (const [id, want] of stored.users) {
      const got = indexedUsers.get(id);
      // Only an edit queues a user's index job: a user whose edits were all refused, or
      // uncertain and did not land, still has the initial values and no document.
      if (!got && isUnedited(ledger.profiles.get(id)!, want)) continue;
      if (got?.display_name !== want.display_name || got.bio !== want.bio)
        found.push(`user ${id}: ${got ? 'stale' : 'not indexed'}`);
    }
    stale = found;
    return stale.length === 0;
  };
  await settles(check, timeoutMs);
  return stale;
}
