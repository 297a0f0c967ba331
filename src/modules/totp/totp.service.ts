import QRCode from 'qrcode';
import type { Dependencies } from '../../dependencies.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { revokeUserSessions } from '../auth/session/session.revocation.ts';
import { createFailureBudget } from '../auth/failure-budget.ts';
import { attemptTotpTempToken, consumeTotpTempToken } from '../auth/totp-temp-token.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { findById } from '../users/users.repository.ts';
import { isTotpCode, newTotpSecret, totpCodeMatches, totpUri } from './totp-codes.ts';
import {
  decryptTotpSecret,
  encryptTotpSecret,
  findBackupCodeHash,
  generateBackupCodes,
  hashBackupCode,
} from './totp-crypto.ts';
import {
  consumeBackupCode,
  disableTotp,
  enableTotp,
  replaceBackupCodes,
  savePendingSecret,
} from './totp.repository.ts';

type TotpDependencies = Pick<Dependencies, 'config' | 'db' | 'redis' | 'logger'>;

/** A code accepted once is refused for this long, past the ±1 step it could still match in. */
const REPLAY_GUARD_SECONDS = 90;

export interface TotpSetup {
  secret: string;
  otpauth_uri: string;
  qr_code_data_url: string;
}

export interface TotpStatus {
  enabled: boolean;
  enabled_at: string | null;
  backup_codes_remaining: number;
}

const invalidCode = () => new AppError('totp:invalid_code', 'The code is wrong or was just used');
const tempTokenInvalid = () =>
  new AppError('totp:temp_token_invalid', 'The login step expired; log in again');
const tooManyAttempts = () =>
  new AppError('totp:too_many_attempts', 'Too many wrong codes; log in again');
const notEnabled = () => new AppError('totp:not_enabled', 'TOTP is not enabled');
const alreadyEnabled = () => new AppError('totp:already_enabled', 'TOTP is already enabled');

export function createTotpService(deps: TotpDependencies) {
  const { encryptionKey, backupCodeSecret } = deps.config.totp;
  const redis = deps.redis.session;
  const snapshots = createUserSnapshotCache(deps);
  const factorBudget = createFailureBudget(redis, {
    name: 'totp',
    policy: deps.config.failureBudgets.factor,
    lockedCode: 'totp:too_many_attempts',
    lockedMessage: 'Too many wrong codes for this account',
  });

  // The primary everywhere: TOTP state is read right before it is changed.
  async function loadUser(userId: string): Promise<UserRow> {
    const user = await findById(deps.db.write, userId);
    if (!user) throw new AppError('auth:unauthorized', 'Authentication required');
    return user;
  }

  /** True once per code: the SET NX of the replay guard is what accepts it. */
  async function acceptTotpCode(userId: string, secret: string, code: string): Promise<boolean> {
    if (!(await totpCodeMatches(secret, code))) return false;
    const fresh = await redis.set(
      redisKeys.totpUsedCode(userId, code),
      '1',
      'EX',
      REPLAY_GUARD_SECONDS,
      'NX',
    );
    return fresh === 'OK';
  }

  /**
   * A TOTP code or a backup code of an enabled user; a matching backup code is used up. Every
   * check draws on the user's failure budget, whichever operation makes it.
   */
  async function acceptCode(user: UserRow, code: string): Promise<boolean> {
    const secret = user.totp_secret;
    if (secret === null) return false;
    return factorBudget.guard(user.id, async () => {
      if (isTotpCode(code)) {
        return acceptTotpCode(user.id, decryptTotpSecret(encryptionKey, secret), code);
      }
      const stored = user.totp_backup_codes ?? [];
      if (stored.length === 0) {
        throw new AppError('totp:backup_code_exhausted', 'No unused backup codes are left');
      }
      const match = findBackupCodeHash(stored, hashBackupCode(backupCodeSecret, code));
      return match !== undefined && consumeBackupCode(deps.db.write, user.id, match);
    });
  }

  async function loadEnabledUser(userId: string): Promise<UserRow> {
    const user = await loadUser(userId);
    if (user.totp_enabled_at === null) throw notEnabled();
    return user;
  }

  function newBackupCodes() {
    const codes = generateBackupCodes();
    return { codes, hashes: codes.map((code) => hashBackupCode(backupCodeSecret, code)) };
  }

  return {
    /** Starts (or restarts) a setup: the secret is pending until enable proves the app has it. */
    async setup(userId: string): Promise<TotpSetup> {
      const user = await loadUser(userId);
      if (user.totp_enabled_at !== null) throw alreadyEnabled();
      const secret = newTotpSecret();
      if (
        !(await savePendingSecret(deps.db.write, userId, encryptTotpSecret(encryptionKey, secret)))
      ) {
        throw alreadyEnabled();
      }
      const otpauthUri = totpUri({ issuer: deps.config.projectName, label: user.email, secret });
      return {
        secret,
        otpauth_uri: otpauthUri,
        qr_code_data_url: await QRCode.toDataURL(otpauthUri, { type: 'image/png' }),
      };
    },

    /** Enables the pending secret and returns the backup codes, the only time they are shown. */
    async enable(userId: string, code: string): Promise<string[]> {
      const user = await loadUser(userId);
      if (user.totp_enabled_at !== null) throw alreadyEnabled();
      if (user.totp_secret === null) {
        throw new AppError('general:bad_request', 'Start a TOTP setup first');
      }
      const secret = decryptTotpSecret(encryptionKey, user.totp_secret);
      const accepted = await factorBudget.guard(userId, () => acceptTotpCode(userId, secret, code));
      if (!accepted) throw invalidCode();
      const { codes, hashes } = newBackupCodes();
      const enabled = await enableTotp(deps.db.write, userId, {
        encryptedSecret: user.totp_secret,
        backupCodeHashes: hashes,
      });
      // Another request enabled TOTP, or restarted the setup, since this one read the user.
      if (!enabled) throw alreadyEnabled();
      await snapshots.invalidate(userId);
      return codes;
    },

    /**
     * The second login step. Each attempt is counted against the temp token before its code is
     * checked, and the token is burned past the limit; a right code uses the token up, so one
     * token yields one session.
     */
    async verifyLogin(input: {
      tempToken: string;
      code: string;
    }): Promise<{ userId: string; rememberMe: boolean; summary: string }> {
      const attempt = await attemptTotpTempToken(redis, input.tempToken);
      if (attempt.kind === 'gone') throw tempTokenInvalid();
      if (attempt.kind === 'burned') throw tooManyAttempts();
      const user = await findById(deps.db.write, attempt.userId);
      // Deleted, or TOTP turned off, since the password step: that step no longer holds.
      if (!user || user.totp_enabled_at === null) {
        await consumeTotpTempToken(redis, input.tempToken);
        throw tempTokenInvalid();
      }
      if (!(await acceptCode(user, input.code))) throw invalidCode();
      if (!(await consumeTotpTempToken(redis, input.tempToken))) throw tempTokenInvalid();
      return {
        userId: user.id,
        rememberMe: attempt.rememberMe,
        summary: `Logged in with ${attempt.signedInWith} and a second factor`,
      };
    },

    async status(userId: string): Promise<TotpStatus> {
      const user = await loadUser(userId);
      const enabled = user.totp_enabled_at !== null;
      return {
        enabled,
        enabled_at: user.totp_enabled_at?.toISOString() ?? null,
        backup_codes_remaining: enabled ? (user.totp_backup_codes?.length ?? 0) : 0,
      };
    },

    /** Turns TOTP off and ends every session but the caller's. */
    async disable(input: { userId: string; sessionId: string; code: string }): Promise<void> {
      const user = await loadEnabledUser(input.userId);
      if (!(await acceptCode(user, input.code))) throw invalidCode();
      if (!(await disableTotp(deps.db.write, input.userId))) throw notEnabled();
      await snapshots.invalidate(input.userId);
      await revokeUserSessions(redis, input.userId, { exceptSessionId: input.sessionId });
    },

    /** Replaces every backup code; the old ones stop working at once. */
    async regenerateBackupCodes(userId: string, code: string): Promise<string[]> {
      const user = await loadEnabledUser(userId);
      if (!(await acceptCode(user, code))) throw invalidCode();
      const { codes, hashes } = newBackupCodes();
      if (!(await replaceBackupCodes(deps.db.write, userId, hashes))) throw notEnabled();
      return codes;
    },
  };
}

export type TotpService = ReturnType<typeof createTotpService>;
