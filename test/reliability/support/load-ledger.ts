/**
 * What the load wrote, and whether the server acknowledged it, so a scenario can check that
 * every acknowledged write is still there afterwards with its content.
 *
 * A write answered 2xx is acknowledged; 4xx means refused, so it changed nothing; a 5xx, a
 * dropped connection or a client timeout leaves it uncertain: it may have committed (a 503
 * system:timeout answers while the handler runs on). The value read back must then be the last
 * acknowledged one, or one of the uncertain writes that could have landed after it.
 */
export type WriteOutcome = 'acked' | 'refused' | 'uncertain';

export interface FieldWrite<T> {
  value: T;
  outcome: WriteOutcome;
  /** Still possibly running when later writes were made: a timeout or a lost connection. */
  unbounded: boolean;
}

export interface PostEntry {
  id: string;
  authorId: string;
  title: FieldWrite<string>[];
  content: FieldWrite<string>[];
}

export interface ProfileEntry {
  userId: string;
  displayName: FieldWrite<string>[];
  bio: FieldWrite<string | null>[];
}

/** One login request of a user: when it was sent and answered (epoch ms), and its outcome. */
export interface LoginAttempt {
  sentAt: number;
  answeredAt: number;
  outcome: WriteOutcome;
}

export interface Ledger {
  posts: Map<string, PostEntry>;
  profiles: Map<string, ProfileEntry>;
  /** Each user's login attempts, oldest first. */
  logins: Map<string, LoginAttempt[]>;
}

export function createLedger(): Ledger {
  return { posts: new Map(), profiles: new Map(), logins: new Map() };
}

/** The values a field may read back as, or undefined when no write to it was acknowledged. */
export function allowedValues<T>(writes: readonly FieldWrite<T>[]): T[] | undefined {
  const lastAcked = writes.findLastIndex((w) => w.outcome === 'acked');
  if (lastAcked < 0) return undefined;
  return writes
    .filter(
      (w, i) => i === lastAcked || (w.outcome === 'uncertain' && (i > lastAcked || w.unbounded)),
    )
    .map((w) => w.value);
}
