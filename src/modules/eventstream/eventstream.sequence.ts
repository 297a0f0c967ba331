import type { ActionLog } from '../action-logs/action-logs.mapper.ts';

/** An action log and its place in the stream (commit order, see the positions migration). */
export interface StreamEntry {
  position: bigint;
  log: ActionLog;
}

export interface StreamSequenceOptions {
  /** The last position committed before this instance listens. */
  start(): Promise<bigint>;
  /** The committed entries from `from` up to, not including, `to`, in order. */
  read(from: bigint, to: bigint): Promise<StreamEntry[]>;
  /** Hands one entry on, each once, in position order. */
  deliver(entry: StreamEntry): void;
  /** Entries may have passed undelivered: every stream must replay. */
  lost(reason: string): void;
}

/**
 * Announcements ahead of the next position held at most: past this, or a gap wider than this,
 * the streams replay from the table instead.
 */
export const MAX_AHEAD = 1000;

/**
 * Puts the announcements an instance hears back in commit order. Announcements from different
 * instances can arrive in another order than their commits, and core NATS can lose one; the
 * positions say which. An entry announced ahead of the next position is held while the
 * missing ones are read from the table: once position n exists every lower one is decided,
 * so a position the table does not hold is a rollback (or a row deleted since), never one
 * still to come.
 */
export function createStreamSequence(options: StreamSequenceOptions) {
  let next: bigint | undefined;
  const ahead = new Map<bigint, ActionLog>();
  let running = false;
  // Bumped by a restart, so a read still in flight from before hands nothing on.
  let generation = 0;

  function forget() {
    next = undefined;
    ahead.clear();
    generation += 1;
  }

  function reset(reason: string) {
    forget();
    try {
      options.lost(reason);
    } catch {
      // Ending the streams is all `lost` does; one that fails to end is gone already.
    }
  }

  const lowest = () => [...ahead.keys()].reduce((a, b) => (b < a ? b : a));

  async function advance(): Promise<void> {
    if (running) return;
    running = true;
    const started = generation;
    try {
      if (next === undefined) {
        const last = await options.start();
        if (started !== generation) return;
        // What was announced since this instance listened is handed on even where it
        // committed before that read, as the first announcement always has.
        next = ahead.size > 0 && lowest() <= last ? lowest() : last + 1n;
      }
      while (ahead.size > 0) {
        const first = lowest();
        if (first > next) {
          if (first - next > BigInt(MAX_AHEAD)) return reset('a gap too wide to read');
          const missing = await options.read(next, first);
          if (started !== generation) return;
          for (const entry of missing) options.deliver(entry);
          next = first;
        }
        const log = ahead.get(first)!;
        ahead.delete(first);
        if (first === next) {
          options.deliver({ position: first, log });
          next = first + 1n;
        }
      }
    } catch (error) {
      if (started === generation) reset(`the table could not be read: ${String(error)}`);
    } finally {
      running = false;
      // Announcements that came while a read was in flight.
      if (ahead.size > 0) void advance();
    }
  }

  return {
    /** Takes one announcement, in whatever order it arrived. */
    accept(position: bigint, log: ActionLog): void {
      if (next !== undefined && position < next) return;
      ahead.set(position, log);
      if (ahead.size > MAX_AHEAD) return reset('too many announcements ahead');
      void advance();
    },

    /** Forgets where it was, as after a NATS outage: the next announcement starts it again. */
    restart: forget,
  };
}
