import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { newId } from '../../shared/db/ids.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction } from '../action-logs/action-logs.recorder.ts';
import { hashPassword } from '../auth/password.ts';
import type { VerificationService } from '../auth/verification.service.ts';
import { isReservedHandle } from './handle-rules.ts';
import { createUserSnapshotCache } from './user-snapshot.cache.ts';
import { toMe, toPublicUser, type Me, type PublicUser } from './users.mapper.ts';
import {
  findByEmail,
  findByHandle,
  findById,
  findSnapshotById,
  handleExists,
  insertUser,
  updateProfile,
  type NewUser,
  type ProfileChanges,
} from './users.repository.ts';

type UsersDependencies = Pick<Dependencies, 'db' | 'redis' | 'storage' | 'nats' | 'logger'>;

export interface Registration {
  email: string;
  handle: string;
  display_name: string;
  password: string;
}

/** One notice per address per hour at most: sign-ups must not become a way to spam an inbox. */
const NOTICE_COOLDOWN_SECONDS = 3600;

const handleTaken = () => new AppError('user:handle_already_exists', 'The handle is already taken');
const userNotFound = () => new AppError('user:not_found', 'User not found');
// requireSession found the user a moment ago; a row gone since is a deleted account.
const userGone = () => new AppError('auth:unauthorized', 'The account no longer exists');

export function createUsersService(
  deps: UsersDependencies,
  verification: Pick<VerificationService, 'sendVerificationEmail'>,
) {
  const publicUrl = (key: string | null) => deps.storage.public.publicUrl(key);
  const snapshots = createUserSnapshotCache(deps);

  /** Tells the owner of an address that someone tried to sign up with it. */
  async function noticeExistingAccount(existing: UserRow): Promise<void> {
    const first = await deps.redis.session.set(
      redisKeys.registrationNotice(existing.id),
      '1',
      'EX',
      NOTICE_COOLDOWN_SECONDS,
      'NX',
    );
    if (first === null) return;
    await enqueueJob(deps.db.write, 'email', {
      to: existing.email,
      template: 'notice',
      vars: {
        title: 'Someone tried to sign up with your email address',
        message:
          'Someone tried to create a new account with this email address. You already have an ' +
          'account, so nothing was created and nothing changed. If it was you, sign in or reset ' +
          'your password instead (an unverified account can ask for a new verification email). ' +
          'If it was not you, you can ignore this email.',
      },
    });
  }

  return {
    /**
     * Signs a user up. The answer is the same whether or not the email is registered: a known
     * address gets a notice by email instead of an account, and the password is hashed on
     * both paths, so neither the response nor its timing tells the two apart. The handle is
     * public anyway, so a taken one is an error.
     */
    async register(input: Registration, actorIp: string | null): Promise<void> {
      const email = input.email.trim().toLowerCase();
      const { handle, display_name } = input;
      if (isReservedHandle(handle) || (await handleExists(deps.db.write, handle))) {
        throw handleTaken();
      }
      const password = await hashPassword(input.password);

      const existing = await findByEmail(deps.db.write, email);
      if (existing) return noticeExistingAccount(existing);

      const user: NewUser = { id: newId(), handle, display_name, email, password };
      const created = await withTransaction(deps.db.write, async (trx) => {
        // A concurrent sign-up can take the handle or the email between the checks above
        // and this insert; the unique indexes decide, and the loser is told apart here.
        if (!(await insertUser(trx, user))) {
          if (await handleExists(trx, handle)) throw handleTaken();
          return false;
        }
        await recordAction(deps, trx, {
          action: 'user:create',
          actor_id: user.id,
          actor_ip: actorIp,
          resource_type: 'user',
          resource_id: user.id,
          summary: `Signed up as @${handle}`,
        });
        await verification.sendVerificationEmail(trx, user);
        await enqueueJob(trx, 'indexUser', { user_id: user.id, action: 'index' });
        return true;
      });
      if (!created) {
        const winner = await findByEmail(deps.db.write, email);
        if (winner) await noticeExistingAccount(winner);
      }
    },

    /**
     * Changes the signed-in user's display name and bio. The answer is read back in the same
     * transaction, so it is exactly what committed; the cached snapshot is invalidated only
     * after the commit, so no reader can refill it with the row from before.
     */
    async updateMe(userId: string, changes: ProfileChanges, actorIp: string | null): Promise<Me> {
      const updated = await withTransaction(deps.db.write, async (trx) => {
        if (!(await updateProfile(trx, userId, changes))) throw userGone();
        const fields = Object.keys(changes).sort();
        await recordAction(deps, trx, {
          action: 'user:edit',
          actor_id: userId,
          actor_ip: actorIp,
          resource_type: 'user',
          resource_id: userId,
          summary: `Edited the profile (${fields.join(', ')})`,
          metadata: { fields },
        });
        await enqueueJob(trx, 'indexUser', { user_id: userId, action: 'index' });
        return findSnapshotById(trx, userId);
      });
      await snapshots.invalidate(userId);
      if (!updated) throw userGone();
      return toMe(updated, publicUrl);
    },

    async getProfileByHandle(handle: string): Promise<PublicUser> {
      const user = await findByHandle(deps.db.read, handle);
      if (!user) throw userNotFound();
      return toPublicUser(user, publicUrl);
    },

    async getProfileById(id: string): Promise<PublicUser> {
      const user = await findById(deps.db.read, id);
      if (!user) throw userNotFound();
      return toPublicUser(user, publicUrl);
    },

    /** Reserved handles read as taken; the replica is fine, since the insert decides races. */
    async isHandleAvailable(handle: string): Promise<boolean> {
      if (isReservedHandle(handle)) return false;
      return !(await handleExists(deps.db.read, handle));
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
