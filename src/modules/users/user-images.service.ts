import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { storageKeys } from '../../shared/constants/storage-keys.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction } from '../action-logs/action-logs.recorder.ts';
import { createUserSnapshotCache } from './user-snapshot.cache.ts';
import { imageKinds, type ImageKind } from './user-images.kinds.ts';
import type { ImageProcessor } from './user-images.processor.ts';
import {
  isImageReferenced,
  lockImageKey,
  lockUserImages,
  setUserImage,
} from './user-images.repository.ts';

type UserImagesDependencies = Pick<Dependencies, 'db' | 'redis' | 'storage' | 'nats' | 'logger'>;

/** Who changes their image and from where: the action log records both. */
export interface ImageActor {
  userId: string;
  ip: string | null;
}

const WEBP = 'image/webp';

// Far above a healthy store's answer to a DELETE, far below the S3 client's own timeouts.
const RELEASE_DELETE_TIMEOUT_MS = 2_000;

async function storeCall(call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    throw new AppError('system:dependency_unavailable', 'The image store is unavailable', {
      cause: error,
    });
  }
}
// requireSession found the user a moment ago; a row gone since is a deleted account.
const userGone = () => new AppError('auth:unauthorized', 'The account no longer exists');

export function createUserImagesService(deps: UserImagesDependencies, processor: ImageProcessor) {
  const snapshots = createUserSnapshotCache(deps);

  /**
   * Deletes the object of a key nobody references any more. It runs after the change that
   * dropped the key has committed, so a failure cannot undo that change: the object is left
   * for the orphan-blob cron, which finds every unreferenced image. The delete must happen
   * under the key's lock (see `upload`), so it holds a database connection: its own short
   * deadline keeps a store that hangs from holding that connection for the full S3 timeout.
   */
  async function release(key: string): Promise<void> {
    try {
      await withTransaction(deps.db.write, async (trx) => {
        await lockImageKey(trx, key);
        if (await isImageReferenced(trx, key)) return;
        await deps.storage.public.delete(key, AbortSignal.timeout(RELEASE_DELETE_TIMEOUT_MS));
      });
    } catch (error) {
      deps.logger.warn('unreferenced image left for the orphan-blob cron', { key, err: error });
    }
  }

  /**
   * Points the user's column at `key` (or at nothing), logs and reindexes; returns the old key.
   * With `onlyIfEmpty` it changes nothing when the user has an image by the time the row is
   * locked, and returns undefined: a check made before this transaction would let an image
   * set in between be overwritten.
   */
  async function swap(
    actor: ImageActor,
    kind: ImageKind,
    key: string | null,
    options: { ensureStored?: () => Promise<void>; onlyIfEmpty?: boolean } = {},
  ): Promise<string | null | undefined> {
    const { column } = imageKinds[kind];
    const previous = await withTransaction(deps.db.write, async (trx) => {
      if (key !== null) await lockImageKey(trx, key);
      // A failure here rolls back and leaves the previous image in place.
      if (options.ensureStored) await options.ensureStored();
      const user = await lockUserImages(trx, actor.userId);
      if (!user) throw userGone();
      if (options.onlyIfEmpty && user[column] !== null) return undefined;
      if (key === null && user[column] === null) {
        throw new AppError('general:not_found', `There is no ${kind} image to remove`);
      }
      await setUserImage(trx, actor.userId, column, key);
      await recordAction(deps, trx, {
        action: 'user:edit',
        actor_id: actor.userId,
        actor_ip: actor.ip,
        resource_type: 'user',
        resource_id: actor.userId,
        summary: key === null ? `Removed the ${kind} image` : `Changed the ${kind} image`,
        metadata: { fields: [column] },
      });
      await enqueueJob(trx, 'indexUser', { user_id: actor.userId, action: 'index' });
      return user[column];
    });
    if (previous === undefined) {
      // The object was stored for nothing, unless another row names the same bytes.
      if (key !== null) await release(key);
      return undefined;
    }
    await snapshots.invalidate(actor.userId);
    if (previous !== null && previous !== key) await release(previous);
    return previous;
  }

  /**
   * Processes the image and stores it, then swaps it in; `swapped` says whether it did.
   *
   * The object is written before the transaction opens, so a slow or hanging store holds no
   * database connection (the pool would run dry and take the whole API down with the store).
   * Deleters (`release` here, the orphan-blob cron) delete an object only under its key's
   * lock, after finding no row that names it. Between our write and our lock one of them may
   * have deleted it, since another user's release can free this same content-addressed key.
   * Once we hold the lock no deleter can act until we commit, and after the commit every one
   * of them finds our row: so under the lock a HEAD that finds the object proves it stays,
   * and a miss is put right from the bytes still in memory before the row names the key.
   */
  async function store(
    actor: ImageActor,
    kind: ImageKind,
    file: Buffer,
    options: { onlyIfEmpty: boolean; signal?: AbortSignal },
  ): Promise<{ key: string; swapped: boolean }> {
    const image = await processor.process(file, imageKinds[kind], options.signal);
    const key = storageKeys.userImage(image.sha256);
    const put = () => deps.storage.public.put(key, image.bytes, WEBP);
    await storeCall(put);
    const previous = await swap(actor, kind, key, {
      onlyIfEmpty: options.onlyIfEmpty,
      ensureStored: () =>
        storeCall(async () => {
          if (!(await deps.storage.public.exists(key))) await put();
        }),
    });
    return { key, swapped: previous !== undefined };
  }

  return {
    /** Stores the processed image and makes it the user's; returns its public URL. */
    async upload(
      actor: ImageActor,
      kind: ImageKind,
      file: Buffer,
      signal?: AbortSignal,
    ): Promise<string> {
      const { key } = await store(actor, kind, file, { onlyIfEmpty: false, signal });
      return deps.storage.public.publicUrl(key)!;
    },

    /**
     * Like upload, for an image nobody chose just now (an imported avatar): the user's own
     * image, if they have one when the row is locked, wins. Returns whether it was set.
     */
    async uploadIfEmpty(actor: ImageActor, kind: ImageKind, file: Buffer): Promise<boolean> {
      return (await store(actor, kind, file, { onlyIfEmpty: true })).swapped;
    },

    async remove(actor: ImageActor, kind: ImageKind): Promise<void> {
      await swap(actor, kind, null);
    },
  };
}

export type UserImagesService = ReturnType<typeof createUserImagesService>;
