import { availableParallelism } from 'node:os';

/** libuv's default when UV_THREADPOOL_SIZE is unset or not a positive integer. */
const LIBUV_DEFAULT_THREADS = 4;
const MAX_HASHES = 3;
const MAX_IMAGES = 2;

export interface ThreadPoolBudget {
  /** argon2 hashes and verifies at once. */
  hashes: number;
  /** sharp pipelines at once, each on one libvips thread. */
  images: number;
}

/**
 * Splits libuv's thread pool between argon2 and sharp, the two long tenants, so that together
 * they leave at least one thread to fs, dns.lookup and zlib (whose short tasks would otherwise
 * queue behind a storm of logins and uploads), and each leaves a core to the event loop. Hashes
 * come first: logins are latency-bound; images are capped lower since each holds its thread
 * for far longer. Each gets at least one slot, even on a pool too small to honour the rest.
 */
export function threadPoolBudget(cores: number, threads: number): ThreadPoolBudget {
  const shared = Math.max(threads - 1, 0);
  const spareCores = cores - 1;
  const hashes = Math.max(1, Math.min(spareCores, MAX_HASHES, shared - 1));
  const images = Math.max(1, Math.min(spareCores, MAX_IMAGES, shared - hashes));
  return { hashes, images };
}

/**
 * The pool's size as libuv reads it: from the environment the process started with. libuv
 * sizes the pool once, on its first task; setting the variable from inside the process only
 * works if nothing has used the pool yet, which the imports running ahead of any of our code
 * cannot promise. So the start scripts and the image set it, and this only reads it.
 */
export function threadPoolSize(env: NodeJS.ProcessEnv): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : LIBUV_DEFAULT_THREADS;
}

export const processThreadPoolBudget = threadPoolBudget(
  availableParallelism(),
  threadPoolSize(process.env),
);
