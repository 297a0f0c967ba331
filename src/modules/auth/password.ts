import { randomBytes } from 'node:crypto';
import { argon2id, hash, verify } from 'argon2';
import { AppError } from '../../shared/errors/app-error.ts';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20 ms, off the event loop). */
const ARGON2_OPTIONS = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

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
  return hash(password, ARGON2_OPTIONS);
}

/** An oversized candidate is wrong without being hashed: it cannot match a stored password. */
export async function verifyPassword(passwordHash: string, candidate: string): Promise<boolean> {
  if (exceedsPasswordByteLimit(candidate)) return false;
  return verify(passwordHash, candidate);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same argon2 work as a real verification for accounts that do not exist or have
 * no password, so response time does not reveal which emails are registered.
 */
export async function verifyAgainstDummy(candidate: string): Promise<false> {
  dummyHash ??= hash(randomBytes(32), ARGON2_OPTIONS);
  await verifyPassword(await dummyHash, candidate);
  return false;
}
