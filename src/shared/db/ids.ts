import { v7 } from 'uuid';

/** Time-ordered ids: primary-key inserts stay append-only and keyset pagination on id follows creation time. */
export function newId(): string {
  return v7();
}

/** An id as the API writes and takes it: a UUID in canonical hyphenated hex, of any version. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
