import { v7 } from 'uuid';

/** Time-ordered ids: primary-key inserts stay append-only and keyset pagination on id follows creation time. */
export function newId(): string {
  return v7();
}
