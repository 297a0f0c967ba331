import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createStorage, type Bucket, type Storage } from '../../src/shared/clients/s3.ts';
import { storageKeys } from '../../src/shared/constants/storage-keys.ts';
import { newId } from '../../src/shared/db/ids.ts';
import {
  IMAGE_KEY_LOCK_SPACE,
  lockImageKey,
} from '../../src/modules/users/user-images.repository.ts';
import { ORPHAN_SCAN_PREFIXES, runOrphanBlobs } from '../../worker/cron/orphan-blobs.cron.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';
import { eventually } from '../support/wait.ts';

async function keysUnder(bucket: Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of bucket.list(prefix)) keys.push(object.key);
  return keys.sort();
}

describe('orphan blobs cron', () => {
  const config = loadWorkerConfig(process.env);
  // The buckets are shared with every test file: this file only ever scans its own prefixes,
  // and references live in private tables so other files' rows cannot save or doom its objects.
  const run = randomUUID();
  const prefixes = {
    content: `${ORPHAN_SCAN_PREFIXES.content}${run}/`,
    images: `${ORPHAN_SCAN_PREFIXES.images}${run}/`,
  };
  let storage: Storage;
  let tables: PrivateTables;

  beforeAll(async () => {
    storage = createStorage(config.storage);
    await storage.ensureBuckets();
    tables = await createPrivateTables(['posts', 'users']);
  });

  afterAll(async () => {
    await storage.content.deleteMany(await keysUnder(storage.content, prefixes.content));
    await storage.public.deleteMany(await keysUnder(storage.public, prefixes.images));
    await tables.drop();
    await storage.close();
  });

  async function insertUser(images: { profile?: string; banner?: string }): Promise<void> {
    const id = newId();
    await tables.db.write('users').insert({
      id,
      handle: `u${id.replaceAll('-', '')}`,
      display_name: 'Orphan test',
      email: `${id}@example.test`,
      profile_image: images.profile ?? null,
      banner_image: images.banner ?? null,
    });
  }

  it('When the job scans its real prefixes, then they are where the key builders put objects', () => {
    expect(storageKeys.postContent(newId()).startsWith(ORPHAN_SCAN_PREFIXES.content)).toBe(true);
    expect(storageKeys.userImage('ab'.repeat(32)).startsWith(ORPHAN_SCAN_PREFIXES.images)).toBe(
      true,
    );
  });

  it('When objects are unreferenced, then only those past the age limit are deleted', async () => {
    const referencedBody = `${prefixes.content}${newId()}`;
    const orphanBody = `${prefixes.content}${newId()}`;
    const profile = `${prefixes.images}${randomUUID()}.webp`;
    const banner = `${prefixes.images}${randomUUID()}.webp`;
    const orphanImage = `${prefixes.images}${randomUUID()}.webp`;
    for (const key of [referencedBody, orphanBody]) {
      await storage.content.put(key, 'body', 'text/markdown');
    }
    for (const key of [profile, banner, orphanImage]) {
      await storage.public.put(key, 'image', 'image/webp');
    }
    await tables.db.write('posts').insert({
      id: newId(),
      author_id: newId(),
      title: 'referenced',
      storage_key: referencedBody,
    });
    await insertUser({ profile });
    await insertUser({ banner });
    const deps = { db: tables.db, storage };

    // With the real one-hour threshold, objects written a moment ago are all left alone.
    const young = await runOrphanBlobs(deps, { prefixes });
    expect(young).toEqual({
      content_scanned: 2,
      content_deleted: 0,
      images_scanned: 3,
      images_deleted: 0,
    });

    const old = await runOrphanBlobs(deps, { prefixes, olderThanMs: 0 });
    expect(old).toMatchObject({ content_deleted: 1, images_deleted: 1 });
    expect(await keysUnder(storage.content, prefixes.content)).toEqual([referencedBody]);
    expect(await keysUnder(storage.public, prefixes.images)).toEqual([banner, profile].sort());
  });

  it('When an upload is writing an unreferenced image key again, then the sweep waits for it and keeps the object it now references', async () => {
    const key = `${prefixes.images}${randomUUID()}.webp`;
    await storage.public.put(key, 'image', 'image/webp');
    // An upload of the same image by another user: it holds the key's lock, has rewritten the
    // object and has not committed the row that names it.
    const upload = await tables.db.write.transaction();
    await lockImageKey(upload, key);
    const sweep = runOrphanBlobs({ db: tables.db, storage }, { prefixes, olderThanMs: 0 });
    await eventually(async () => {
      const waiting = await tables.db
        .read('pg_locks')
        .where({ locktype: 'advisory', granted: false })
        .whereRaw('classid::int = ? and objid::int = hashtext(?)', [IMAGE_KEY_LOCK_SPACE, key])
        .count<{ count: string }[]>('* as count');
      return Number(waiting[0]!.count) > 0;
    });
    const id = newId();
    await upload('users').insert({
      id,
      handle: `u${id.replaceAll('-', '')}`,
      display_name: 'Concurrent upload',
      email: `${id}@example.test`,
      profile_image: key,
    });
    await upload.commit();

    expect(await sweep).toMatchObject({ images_deleted: 0 });
    expect(await keysUnder(storage.public, prefixes.images)).toContain(key);
  });
});
