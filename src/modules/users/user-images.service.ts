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

const storeUnavailable = (cause: unknown) =>
  new AppError('system:dependency_unavailable', 'The image store is unavailable', { cause });
// requireSession found the user a moment ago; a row gone since is a deleted account.
const userGone = () => new AppError('auth:unauthorized', 'The account no longer exists');

export function createUserImagesService(deps: UserImagesDependencies, processor: ImageProcessor) {
  const snapshots = createUserSnapshotCache(deps);

  /**
   * Deletes the object of a key nobody references any more. It runs after the change that
   * dropped the key has committed, so a failure cannot undo that change: the object is left
   * for the orphan-blob cron, which finds every unreferenced image.
   */
  async function release(key: string): Promise<void> {
    try {
      await withTransaction(deps.db.write, async (trx) => {
        await lockImageKey(trx, key);
        if (await isImageReferenced(trx, key)) return;
        await deps.storage.public.delete(key);
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
    options: { store?: () => Promise<void>; onlyIfEmpty?: boolean } = {},
  ): Promise<string | null | undefined> {
    const { column } = imageKinds[kind];
    const previous = await withTransaction(deps.db.write, async (trx) => {
      if (key !== null) await lockImageKey(trx, key);
      // The object is written under the key's lock, before the row names it: a failed write
      // rolls back and leaves the previous image in place.
      if (options.store) await options.store();
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

  /** Processes and stores the image, then swaps it in; `swapped` says whether it did. */
  async function store(
    actor: ImageActor,
    kind: ImageKind,
    file: Buffer,
    onlyIfEmpty: boolean,
  ): Promise<{ key: string; swapped: boolean }> {
    const image = await processor.process(file, imageKinds[kind]);
    const key = storageKeys.userImage(image.sha256);
    const previous = await swap(actor, kind, key, {
      onlyIfEmpty,
      store: async () => {
        try {
          await deps.storage.public.put(key, image.bytes, WEBP);
        } catch (error) {
          throw storeUnavailable(error);
        }
      },
    });
    return { key, swapped: previous !== undefined };
  }

  return {
    /** Stores the processed image and makes it the user's; returns its public URL. */
    async upload(actor: ImageActor, kind: ImageKind, file: Buffer): Promise<string> {
      const { key } = await store(actor, kind, file, false);
      return deps.storage.public.publicUrl(key)!;
    },

    /**
     * Like upload, for an image nobody chose just now (an imported avatar): the user's own
     * image, if they have one when the row is locked, wins. Returns whether it was set.
     */
    async uploadIfEmpty(actor: ImageActor, kind: ImageKind, file: Buffer): Promise<boolean> {
      return (await store(actor, kind, file, true)).swapped;
    },

    async remove(actor: ImageActor, kind: ImageKind): Promise<void> {
      await swap(actor, kind, null);
    },
  };
}

export type UserImagesService = ReturnType<typeof createUserImagesService>;
