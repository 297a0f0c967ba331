import { createExpressKitClient } from '../../../client/src/index.ts';
import { clientAddress } from './client-address.ts';
import { createLedger, type Ledger } from './load-ledger.ts';
import {
  loadOperations,
  profileOf,
  type Answer,
  type Call,
  type VirtualUser,
} from './load-operations.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import type { LoadUser } from './load-users.ts';

/**
 * A bounded mixed read/write load: one virtual user per account, each a browser of its own
 * (cookie jar, anonymous id, X-Forwarded-For address, so servers started with
 * TRUST_PROXY=loopback rate-limit each separately), signed in, sending one request at a time
 * with a short pause between them. Every response is recorded, and every write goes into the
 * ledger with its outcome (the operations themselves are in load-operations.ts).
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

export function startLoad(options: LoadOptions): Load {
  const thinkMs = options.thinkMs ?? 25;
  const requestTimeoutMs = options.requestTimeoutMs ?? 40_000;
  const responses: ResponseRecord[] = [];
  const ledger = createLedger();
  const startedAt = Date.now();
  let stopping = false;

  const call: Call = async (operation, send) => {
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
  };
  const operations = loadOperations(call, ledger);

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
    await operations.login(vu);
    while (!stopping) {
      const answer = await operations[nextOperation(vu)](vu);
      // A lost session (its store was down while the login rotated it) is signed in again.
      if (answer.code === 'auth:unauthorized' && Date.now() - vu.lastLoginAt >= LOGIN_INTERVAL_MS) {
        await operations.login(vu);
      }
      await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  }

  const virtualUsers: VirtualUser[] = options.users.map((user, i) => ({
    user,
    client: createExpressKitClient({
      baseUrl: options.baseUrls[i % options.baseUrls.length]!,
      cookieJar: true,
      headers: { 'x-forwarded-for': clientAddress() },
    }),
    random: seededRandom(options.seed + i),
    lastLoginAt: 0,
    ownPosts: [],
    seenWords: [],
  }));
  for (const vu of virtualUsers) profileOf(ledger, vu.user);
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
