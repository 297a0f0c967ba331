import { describe, expect, it } from 'vitest';
import type { AppError } from '../../shared/errors/app-error.ts';
import { createPostCursors, microsToIso } from './posts.cursor.ts';

const cursors = createPostCursors('a-test-secret-of-at-least-thirty-two-chars');
const position = {
  createdMicros: 1_796_166_203_123_456n,
  id: '0194a1c0-5e6f-7a8b-9c0d-1e2f3a4b5c6d',
};
const author = '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';

/** The code a decode fails with, or 'accepted'. */
function outcome(cursor: string, authorId: string | undefined): string {
  try {
    cursors.decode(cursor, authorId);
    return 'accepted';
  } catch (error) {
    return `${(error as AppError).status} ${(error as AppError).code}`;
  }
}

const REFUSED = '400 general:validation_error';

describe('post cursors', () => {
  it('When a cursor is decoded with the filter it was issued for, then it gives the position back', () => {
    expect(cursors.decode(cursors.encode(position, undefined), undefined)).toEqual(position);
    expect(cursors.decode(cursors.encode(position, author), author)).toEqual(position);
  });

  it('When one byte of a cursor is changed, then it is refused', () => {
    const bytes = Buffer.from(cursors.encode(position, undefined), 'base64url');
    bytes[3] = bytes[3]! ^ 1;
    expect(outcome(bytes.toString('base64url'), undefined)).toBe(REFUSED);
  });

  it('When a cursor is used with another author filter, then it is refused', () => {
    expect(outcome(cursors.encode(position, author), undefined)).toBe(REFUSED);
    expect(outcome(cursors.encode(position, undefined), author)).toBe(REFUSED);
  });

  it('When a cursor was signed with another secret, then it is refused', () => {
    const foreign = createPostCursors('another-secret-of-at-least-thirty-two-chars');
    expect(outcome(foreign.encode(position, undefined), undefined)).toBe(REFUSED);
  });

  it('When a cursor is not base64url of the right length, then it is refused', () => {
    for (const cursor of ['x', 'not a cursor!', cursors.encode(position, undefined) + 'AA']) {
      expect(outcome(cursor, undefined)).toBe(REFUSED);
    }
  });

  it('When microseconds are written as ISO, then no digit is lost', () => {
    expect(microsToIso(1_796_166_203_123_456n)).toBe('2026-12-01T23:03:23.123456Z');
    expect(microsToIso(1_796_166_203_000_007n)).toBe('2026-12-01T23:03:23.000007Z');
  });
});
