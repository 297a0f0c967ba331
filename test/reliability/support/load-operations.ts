import type { ExpressKitClient } from '../../../client/src/index.ts';
import type { FieldWrite, Ledger, ProfileEntry, WriteOutcome } from './load-ledger.ts';
import { sentence, word } from './load-random.ts';
import type { LoadOperation } from './load.ts';
import type { LoadUser } from './load-users.ts';

/** What one request of a virtual user got back. */
export interface Answer {
  /** 0 when no answer came: the connection failed or the client gave up. */
  status: number;
  code?: string;
  data?: unknown;
}

/** Sends one request, records its answer among the load's responses, and returns it. */
export type Call = (
  operation: LoadOperation,
  send: (signal: AbortSignal) => Promise<{ response: Response; data?: unknown; error?: unknown }>,
) => Promise<Answer>;

export interface VirtualUser {
  user: LoadUser;
  client: ExpressKitClient;
  random: () => number;
  lastLoginAt: number;
  ownPosts: string[];
  /** Title words seen in the feed and in own posts, for searches. */
  seenWords: string[];
}

export function outcomeOf(status: number): WriteOutcome {
  if (status >= 200 && status < 300) return 'acked';
  if (status >= 400 && status < 500) return 'refused';
  return 'uncertain';
}

function writeOf<T>(value: T, answer: Answer): FieldWrite<T> {
  return {
    value,
    outcome: outcomeOf(answer.status),
    unbounded: answer.status === 0 || answer.code === 'system:timeout',
  };
}

/** The profile's ledger entry, starting from the values the account was created with. */
export function profileOf(ledger: Ledger, user: LoadUser): ProfileEntry {
  let entry = ledger.profiles.get(user.id);
  if (!entry) {
    entry = {
      userId: user.id,
      displayName: [{ value: user.displayName, outcome: 'acked', unbounded: false }],
      bio: [{ value: null, outcome: 'acked', unbounded: false }],
    };
    ledger.profiles.set(user.id, entry);
  }
  return entry;
}

/**
 * The operations of the mixed load. Each sends one request through `call`, records any write
 * in `ledger` with its outcome, and returns its own answer, so the caller acts on what this
 * virtual user got and not on whatever another one got last.
 */
export function loadOperations(
  call: Call,
  ledger: Ledger,
): Record<LoadOperation, (vu: VirtualUser) => Promise<Answer>> {
  const pick = <T>(vu: VirtualUser, items: readonly T[]) =>
    items[Math.floor(vu.random() * items.length)];

  async function login(vu: VirtualUser): Promise<Answer> {
    vu.lastLoginAt = Date.now();
    const sentAt = Date.now();
    const answer = await call('login', (signal) =>
      vu.client.POST('/v0/auth/login', {
        body: { email: vu.user.email, password: vu.user.password, remember_me: false },
        signal,
      }),
    );
    const attempts = ledger.logins.get(vu.user.id) ?? [];
    attempts.push({ sentAt, answeredAt: Date.now(), outcome: outcomeOf(answer.status) });
    ledger.logins.set(vu.user.id, attempts);
    return answer;
  }

  async function createPost(vu: VirtualUser): Promise<Answer> {
    const marker = word();
    const title = `load ${marker} ${word()}`;
    const content = sentence(3 + Math.floor(vu.random() * 40));
    const answer = await call('createPost', (signal) =>
      vu.client.POST('/v0/posts', { body: { title, content }, signal }),
    );
    if (answer.status !== 201) return answer;
    const { id } = answer.data as { id: string };
    ledger.posts.set(id, {
      id,
      authorId: vu.user.id,
      title: [{ value: title, outcome: 'acked', unbounded: false }],
      content: [{ value: content, outcome: 'acked', unbounded: false }],
    });
    vu.ownPosts.push(id);
    vu.seenWords.push(marker);
    return answer;
  }

  async function updatePost(vu: VirtualUser): Promise<Answer> {
    const id = pick(vu, vu.ownPosts);
    if (!id) return createPost(vu);
    const entry = ledger.posts.get(id)!;
    const changeTitle = vu.random() < 0.6;
    const changeContent = !changeTitle || vu.random() < 0.5;
    const body = {
      ...(changeTitle ? { title: `edited ${word()} ${word()}` } : {}),
      ...(changeContent ? { content: sentence(3 + Math.floor(vu.random() * 40)) } : {}),
    };
    const answer = await call('updatePost', (signal) =>
      vu.client.PATCH('/v0/posts/{id}', { params: { path: { id } }, body, signal }),
    );
    if (body.title !== undefined) entry.title.push(writeOf(body.title, answer));
    if (body.content !== undefined) entry.content.push(writeOf(body.content, answer));
    return answer;
  }

  async function updateMe(vu: VirtualUser): Promise<Answer> {
    const entry = profileOf(ledger, vu.user);
    const changeName = vu.random() < 0.5;
    const bio = vu.random() < 0.2 ? null : sentence(4);
    const body = changeName ? { display_name: `Load ${word()}` } : { bio };
    const answer = await call('updateMe', (signal) =>
      vu.client.PATCH('/v0/user/me', { body, signal }),
    );
    if (body.display_name !== undefined) entry.displayName.push(writeOf(body.display_name, answer));
    else entry.bio.push(writeOf(bio, answer));
    return answer;
  }

  async function listPosts(vu: VirtualUser): Promise<Answer> {
    const answer = await call('listPosts', (signal) =>
      vu.client.GET('/v0/posts', { params: { query: { limit: 20 } }, signal }),
    );
    if (answer.status !== 200) return answer;
    for (const post of (answer.data as { posts: { id: string; title: string }[] }).posts) {
      const marker = post.title.split(' ')[1];
      if (marker && vu.seenWords.length < 200) vu.seenWords.push(marker);
    }
    return answer;
  }

  /**
   * Reads one of the user's own posts, which no other request edits meanwhile: s3rver, the
   * local S3, rewrites an object in place, so a read racing another user's edit of the same
   * post can get a body shorter than its Content-Length and wait for s3rver to drop the
   * socket (a 503 after ~6 s). S3 and SeaweedFS replace objects atomically. Other users'
   * posts are read through the feed and search.
   */
  async function getPost(vu: VirtualUser): Promise<Answer> {
    const id = pick(vu, vu.ownPosts);
    if (!id) return listPosts(vu);
    return call('getPost', (signal) =>
      vu.client.GET('/v0/posts/{id}', { params: { path: { id } }, signal }),
    );
  }

  return {
    login,
    createPost,
    updatePost,
    updateMe,
    listPosts,
    getPost,
    searchPosts: (vu) =>
      call('searchPosts', (signal) =>
        vu.client.GET('/v0/search/posts', {
          params: { query: { q: pick(vu, vu.seenWords) ?? 'load', page_size: 10 } },
          signal,
        }),
      ),
    getMe: (vu) => call('getMe', (signal) => vu.client.GET('/v0/user/me', { signal })),
    listActionLogs: (vu) =>
      call('listActionLogs', (signal) =>
        vu.client.GET('/v0/action-logs', {
          params: { query: { limit: 20, actor_id: vu.user.id } },
          signal,
        }),
      ),
  };
}
