import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { argon2id, hash, verify } from 'argon2';
import { AppError } from '../../shared/errors/app-error.ts';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20 ms, off the event loop). */
const ARGON2_OPTIONS = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2 runs on libuv's threadpool (4 threads by default), off the event loop but not off
 * its cores: four hashes at once on a 2-core machine starve the loop, and a full threadpool
 * also stalls fs and DNS work. So hashes queue for a slot, leaving a core and a thread free;
 * a login storm then waits in this queue (bounded by the stability layer) instead of
 * slowing every other request.
 */
const MAX_CONCURRENT_HASHES = Math.max(1, Math.min(availableParallelism() - 1, 3));
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
 * The contract caps passwords at 128 characters, but a character may be up to 4 UTF-8 bytes
 * and any internal caller bypasses the contract: the byte bound keeps hashing cost fixed.
 */
export const PASSWORD_MAX_BYTES = 1024;

export function exceedsPasswordByteLimit(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES;
}

export async function hashPassword(password: string): Promise<string> {
  if (exceedsPasswordByteLimit(password)) {
    throw new AppError(
      'general:validation_error',
      `password must be at most ${PASSWORD_MAX_BYTES} bytes`,
    );
  }
  return withHashSlot(() => hash(password, ARGON2_OPTIONS));
}

/** An oversized candidate is wrong without being hashed: it cannot match a stored password. */
export async function verifyPassword(passwordHash: string, candidate: string): Promise<boolean> {
  if (exceedsPasswordByteLimit(candidate)) return false;
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
