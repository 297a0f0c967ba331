import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../shared/errors/app-error.ts';

/** Where a page ended: the last post's creation time in microseconds (PostgreSQL's precision) and id. */
export interface PostPosition {
  createdMicros: bigint;
  id: string;
}

const PAYLOAD_BYTES = 8 + 16;
const TAG_BYTES = 16;

const invalidCursor = () =>
  new AppError('general:validation_error', 'cursor: is not a cursor this listing issued');

/** `2026-12-01T23:03:23.123456Z`: exact to the microsecond, which a JS Date is not. */
export function microsToIso(micros: bigint): string {
  const millis = new Date(Number(micros / 1000n)).toISOString();
  return `${millis.slice(0, -1)}${String(micros % 1000n).padStart(3, '0')}Z`;
}

/**
 * Opaque, tamper-evident cursors for the post listing. The HMAC covers the author filter as
 * well as the position, so a cursor works only with the listing that issued it: an edited
 * position, or one carried over to another author's feed, is refused rather than answered
 * with a wrong page.
 */
export function createPostCursors(secret: string) {
  // Its own key, so a cursor tag can never double as a session-cookie signature. A KeyObject,
  // imported once: handed raw bytes, every HMAC would import the key again (~5x the cost).
  const key = createSecretKey(
    createHmac('sha256', secret).update('expresskit:posts-cursor:v1').digest(),
  );
  const tag = (payload: Buffer, authorId: string | undefined) =>
    createHmac('sha256', key)
      .update(authorId ?? '-')
      .update(payload)
      .digest()
      .subarray(0, TAG_BYTES);

  return {
    encode(position: PostPosition, authorId: string | undefined): string {
      const payload = Buffer.alloc(PAYLOAD_BYTES);
      payload.writeBigInt64BE(position.createdMicros, 0);
      Buffer.from(position.id.replaceAll('-', ''), 'hex').copy(payload, 8);
      return Buffer.concat([payload, tag(payload, authorId)]).toString('base64url');
    },

    /** Throws 400 general:validation_error for anything this listing did not issue. */
    decode(cursor: string, authorId: string | undefined): PostPosition {
      const bytes = Buffer.from(cursor, 'base64url');
      if (bytes.length !== PAYLOAD_BYTES + TAG_BYTES || bytes.toString('base64url') !== cursor) {
        throw invalidCursor();
      }
      const payload = bytes.subarray(0, PAYLOAD_BYTES);
      if (!timingSafeEqual(bytes.subarray(PAYLOAD_BYTES), tag(payload, authorId))) {
        throw invalidCursor();
      }
      const hex = payload.subarray(8).toString('hex');
      const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      return { createdMicros: payload.readBigInt64BE(0), id };
    },
  };
}

export type PostCursors = ReturnType<typeof createPostCursors>;
