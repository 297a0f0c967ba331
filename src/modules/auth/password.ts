import { randomBytes } from 'node:crypto';
import { argon2id, hash, verify } from 'argon2';
import { processThreadPoolBudget } from '../../shared/threadpool-budget.ts';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20 ms, off the event loop). */
const ARGON2_OPTIONS = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2 runs on libuv's threadpool (4 threads by default), off the event loop but not off
 * its cores: four hashes at once on a 2-core machine starve the loop, and a full threadpool
 * also stalls fs and DNS work. So hashes queue for a slot, leaving a core and a thread free;
 * a login storm then waits in this queue (bounded by the stability layer) instead of
 * slowing every other request. The pool is shared with image processing: threadPoolBudget
 * splits it between the two.
 */
const MAX_CONCURRENT_HASHES = processThreadPoolBudget.hashes;
let running = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running < MAX_CONCURRENT_HASHES) running += 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter, so `running` only drops when none waits.
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

/**
 * Hashing cost is bounded at the edge: the contract takes passwords of 12–128 characters (code
 * points), so at most 512 UTF-8 bytes reach argon2 from a request. Other callers (seeds, test
 * factories) pass their own fixed passwords.
 */
export async function hashPassword(password: string): Promise<string> {
  return withHashSlot(() => hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(passwordHash: string, candidate: string): Promise<boolean> {
  return withHashSlot(() => verify(passwordHash, candidate));
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same argon2 work as a real verification for accounts that do not exist or have
 * no password, so response time does not reveal which emails are registered.
 */
export async function verifyAgainstDummy(candidate: string): Promise<false> {
  dummyHash ??= withHashSlot(() => hash(randomBytes(32), ARGON2_OPTIONS));
  await verifyPassword(await dummyHash, candidate);
  return false;
}
