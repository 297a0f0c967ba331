/** Every Redis key the project writes, built in one place so their shapes never drift. */
export const redisKeys = {
  session: (sessionId: string) => `session:${sessionId}`,
  userSessions: (userId: string) => `user_sessions:${userId}`,
  postCache: (postId: string) => `cache:post:${postId}`,
  /** A signed-in user's secret-free snapshot (users/user-snapshot.cache.ts), in the cache Redis. */
  userSnapshot: (userId: string) => `cache:user:${userId}`,
  rateLimit: (operationId: string, subject: string) => `rate_limit:${operationId}:${subject}`,
  /** A login's pending TOTP step, keyed by the SHA-256 of the temp token: the value is never stored. */
  totpTempToken: (tokenHash: string) => `totp_temp_token:${tokenHash}`,
  /** A TOTP code a user just had accepted, refused again while this key lives (replay guard). */
  totpUsedCode: (userId: string, code: string) => `totp_used_code:${userId}:${code}`,
  /** Wrong answers a user gave to one kind of check (auth/failure-budget.ts) in its window. */
  failureBudget: (kind: string, userId: string) => `failure_budget:${kind}:${userId}`,
  /** An OAuth authorization in flight, keyed by its `state`: the PKCE verifier and what it is for. */
  oauthState: (state: string) => `oauth_state:${state}`,
  /** A new OAuth user's sign-up awaiting a handle, keyed by the SHA-256 of its pending token. */
  oauthPendingSignup: (tokenHash: string) => `oauth_pending_signup:${tokenHash}`,
  cronLock: (job: string) => `cron_lock:${job}`,
  jobDedup: (messageId: string) => `job_dedup:${messageId}`,
  /** Held while one delivery of a side-effecting job runs, so a concurrent redelivery waits. */
  jobRunning: (messageId: string) => `job_running:${messageId}`,
  /** A user's live single-use email token of one kind: its secret's digest and the flow's data. */
  emailToken: (kind: string, userId: string) => `email_token:${kind}:${userId}`,
  /** Set while a "someone tried to sign up with your address" notice is cooling down. */
  registrationNotice: (userId: string) => `registration_notice:${userId}`,
} as const;
