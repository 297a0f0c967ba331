import { randomBytes } from 'node:crypto';
import { createExpressKitClient, type ExpressKitClient } from '../../../client/src/index.ts';
import { createLedger, type FieldWrite, type Ledger, type WriteOutcome } from './load-ledger.ts';
import type { LoadUser } from './load-users.ts';

/**
 * A bounded mixed read/write load: one virtual user per account, each a browser of its own
 * (cookie jar, anonymous id, X-Forwarded-For address, so servers started with
 * TRUST_PROXY=loopback rate-limit each separately), signed in, sending one request at a time
 * with a short pause between them. Every response is recorded, and every write goes into the
 * ledger with its outcome.
 */

export type LoadOperation =
  | 'login'
  | 'createPost'
  | 'updatePost'
  | 'updateMe'
  | 'listPosts'
  | 'getPost'
  | 'getMe'
  | 'searchPosts'
  | 'listActionLogs';

export const WRITE_OPERATIONS: ReadonlySet<LoadOperation> = new Set([
  'login',
  'createPost',
  'updatePost',
  'updateMe',
]);

export interface ResponseRecord {
  operation: LoadOperation;
  /** 0 when no answer came: the connection failed or the client gave up. */
  status: number;
  /** The catalogue code of an error answer; `transport:<name>` when no answer came. */
  code?: string;
  /** When the request was sent (epoch ms). */
  sentAt: number;
  durationMs: number;
}

export interface LoadOptions {
  /** Servers to spread the virtual users over, round robin. */
  baseUrls: readonly string[];
  users: readonly LoadUser[];
  seed: number;
  /** Pause after each request of a virtual user; bounds the load. */
  thinkMs?: number;
  /** Longer than the server's own 30 s request timeout, so a hang shows as a transport error. */
  requestTimeoutMs?: number;
}

export interface LoadResult {
  responses: ResponseRecord[];
  ledger: Ledger;
  durationMs: number;
}

export interface Load {
  /** Every response so far, in arrival order. */
  readonly responses: readonly ResponseRecord[];
  /** Lets every virtual user finish its request in flight, then returns what happened. */
  stop(): Promise<LoadResult>;
}

const OPERATION_WEIGHTS: readonly [LoadOperation, number][] = [
  ['createPost', 14],
  ['updatePost', 10],
  ['updateMe', 8],
  ['login', 3],
  ['listPosts', 14],
  ['getPost', 20],
  ['getMe', 10],
  ['searchPosts', 12],
  ['listActionLogs', 9],
];

/** Login is limited to 10 a minute per address; a virtual user stays well under it. */
const LOGIN_INTERVAL_MS = 8_000;

let nextAddress = 1;
/** A fresh 10.x.y.z address for every virtual user of the run, so rate-limit budgets never mix. */
function allocateAddress(): string {
  const n = nextAddress++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** mulberry32: a small seeded generator, so a run's mix of operations can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const word = () => randomBytes(5).toString('hex');
const sentence = (words: number) => Array.from({ length: words }, word).join(' ');

function outcomeOf(status: number): WriteOutcome {
  if (status >= 200 && status < 300) return 'acked';
  if (status >= 400 && status < 500) return 'refused';
  return 'uncertain';
}

function writeOf<T>(value: T, status: number, code: string | undefined): FieldWrite<T> {
  return {
    value,
    outcome: outcomeOf(status),
    unbounded: status === 0 || code === 'system:timeout',
  };
}

interface Answer {
  status: number;
  code?: string;
  data?: unknown;
}

interface VirtualUser {
  user: LoadUser;
  client: ExpressKitClient;
  random: () => number;
  lastLoginAt: number;
  ownPosts: string[];
  /** Title words seen in the feed and in own posts, for searches. */
  seenWords: string[];
}

export function startLoad(options: LoadOptions): Load {
  const thinkMs = options.thinkMs ?? 25;
  const requestTimeoutMs = options.requestTimeoutMs ?? 40_000;
  const responses: ResponseRecord[] = [];
  const ledger = createLedger();
  const startedAt = Date.now();
  let stopping = false;

  async function call(
    operation: LoadOperation,
    send: (signal: AbortSignal) => Promise<{ response: Response; data?: unknown; error?: unknown }>,
  ): Promise<Answer> {
    const sentAt = Date.now();
    let answer: Answer;
    try {
      const { response, data, error } = await send(AbortSignal.timeout(requestTimeoutMs));
      const code = (error as { code?: unknown } | undefined)?.code;
      answer = { status: response.status, code: typeof code === 'string' ? code : undefined, data };
    } catch (failure) {
      answer = { status: 0, code: `transport:${(failure as Error).name}` };
    }
    responses.push({
      operation,
      status: answer.status,
      code: answer.code,
      sentAt,
      durationMs: Date.now() - sentAt,
    });
    return answer;
  }

  function profileOf(user: LoadUser) {
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

  async function login(vu: VirtualUser): Promise<void> {
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
  }

  async function createPost(vu: VirtualUser): Promise<void> {
    const marker = word();
    const title = `load ${marker} ${word()}`;
    const content = sentence(3 + Math.floor(vu.random() * 40));
    const answer = await call('createPost', (signal) =>
      vu.client.POST('/v0/posts', { body: { title, content }, signal }),
    );
    if (answer.status !== 201) return;
    const { id } = answer.data as { id: string };
    ledger.posts.set(id, {
      id,
      authorId: vu.user.id,
      title: [{ value: title, outcome: 'acked', unbounded: false }],
      content: [{ value: content, outcome: 'acked', unbounded: false }],
    });
    vu.ownPosts.push(id);
    vu.seenWords.push(marker);
  }

  async function updatePost(vu: VirtualUser): Promise<void> {
    const id = vu.ownPosts[Math.floor(vu.random() * vu.ownPosts.length)];
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
    if (body.title !== undefined) entry.title.push(writeOf(body.title, answer.status, answer.code));
    if (body.content !== undefined)
      entry.content.push(writeOf(body.content, answer.status, answer.code));
  }

  async function updateMe(vu: VirtualUser): Promise<void> {
    const entry = profileOf(vu.user);
    const changeName = vu.random() < 0.5;
    const bio = vu.random() < 0.2 ? null : sentence(4);
    const body = changeName ? { display_name: `Load ${word()}` } : { bio };
    const answer = await call('updateMe', (signal) =>
      vu.client.PATCH('/v0/user/me', { body, signal }),
    );
    if (body.display_name !== undefined)
      entry.displayName.push(writeOf(body.display_name, answer.status, answer.code));
    else entry.bio.push(writeOf(bio, answer.status, answer.code));
  }

  async function listPosts(vu: VirtualUser): Promise<void> {
    const answer = await call('listPosts', (signal) =>
      vu.client.GET('/v0/posts', { params: { query: { limit: 20 } }, signal }),
    );
    if (answer.status !== 200) return;
    for (const post of (answer.data as { posts: { id: string; title: string }[] }).posts) {
      const marker = post.title.split(' ')[1];
      if (marker && vu.seenWords.length < 200) vu.seenWords.push(marker);
    }
  }

  const pick = <T>(vu: VirtualUser, items: readonly T[]) =>
    items[Math.floor(vu.random() * items.length)];

  /**
   * Reads one of the user's own posts, which no other request edits meanwhile: s3rver, the
   * local S3, rewrites an object in place, so a read racing another user's edit of the same
   * post can get a body shorter than its Content-Length and wait for s3rver to drop the
   * socket (a 503 after ~6 s). S3 and SeaweedFS replace objects atomically. Other users'
   * posts are read through the feed and search.
   */
  async function getPost(vu: VirtualUser): Promise<void> {
    const id = pick(vu, vu.ownPosts);
    if (!id) return listPosts(vu);
    await call('getPost', (signal) =>
      vu.client.GET('/v0/posts/{id}', { params: { path: { id } }, signal }),
    );
  }

  async function searchPosts(vu: VirtualUser): Promise<void> {
    const q = pick(vu, vu.seenWords) ?? 'load';
    await call('searchPosts', (signal) =>
      vu.client.GET('/v0/search/posts', { params: { query: { q, page_size: 10 } }, signal }),
    );
  }

  const operations: Record<LoadOperation, (vu: VirtualUser) => Promise<void>> = {
    login,
    createPost,
    updatePost,
    updateMe,
    listPosts,
    getPost,
    searchPosts,
    getMe: (vu) =>
      call('getMe', (signal) => vu.client.GET('/v0/user/me', { signal })).then(() => undefined),
    listActionLogs: (vu) =>
      call('listActionLogs', (signal) =>
        vu.client.GET('/v0/action-logs', {
          params: { query: { limit: 20, actor_id: vu.user.id } },
          signal,
        }),
      ).then(() => undefined),
  };

  const totalWeight = OPERATION_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  function nextOperation(vu: VirtualUser): LoadOperation {
    let roll = vu.random() * totalWeight;
    for (const [operation, weight] of OPERATION_WEIGHTS) {
      roll -= weight;
      if (roll < 0) {
        if (operation === 'login' && Date.now() - vu.lastLoginAt < LOGIN_INTERVAL_MS) break;
        return operation;
      }
    }
    return 'getPost';
  }

  async function run(vu: VirtualUser): Promise<void> {
    await login(vu);
    while (!stopping) {
      const answerCountBefore = responses.length;
      await operations[nextOperation(vu)](vu);
      // A lost session (its store was down while the login rotated it) is signed in again.
      const last = responses.at(-1);
      if (responses.length > answerCountBefore && last?.code === 'auth:unauthorized') {
        if (Date.now() - vu.lastLoginAt >= LOGIN_INTERVAL_MS) await login(vu);
      }
      await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  }

  const virtualUsers: VirtualUser[] = options.users.map((user, i) => ({
    user,
    client: createExpressKitClient({
      baseUrl: options.baseUrls[i % options.baseUrls.length]!,
      cookieJar: true,
      headers: { 'x-forwarded-for': allocateAddress() },
    }),
    random: seededRandom(options.seed + i),
    lastLoginAt: 0,
    ownPosts: [],
    seenWords: [],
  }));
  for (const vu of virtualUsers) profileOf(vu.user);
  const running = Promise.all(virtualUsers.map(run));

  return {
    responses,
    async stop() {
      stopping = true;
      await running;
      return { responses, ledger, durationMs: Date.now() - startedAt };
    },
  };
}
