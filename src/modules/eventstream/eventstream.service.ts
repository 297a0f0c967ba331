import { Events } from 'nats';
import type { Dependencies } from '../../dependencies.ts';
import { realtimeEventsSubject } from '../../shared/constants/jobs.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import {
  matchesFilter,
  pickFilter,
  type ActionLogFilter,
} from '../action-logs/action-logs.filter.ts';
import { toActionLog, type ActionLog } from '../action-logs/action-logs.mapper.ts';
import { findActionLogsAfter } from '../action-logs/action-logs.repository.ts';

/** Where one client's entries go. */
export interface ActionSink {
  /** Hands over one entry; false once the client is gone (closed or dropped). */
  send(log: ActionLog): boolean;
  /** Ends the client's stream because it fell too far behind. */
  drop(reason: string): void;
  /** Ends the client's stream cleanly, so it reconnects and replays. */
  end(): void;
}

export interface ActionSubscription {
  close(): void;
}

interface Listener {
  (log: ActionLog): void;
  sink: ActionSink;
}

const REPLAY_BATCH = 500;

/**
 * Live entries that may arrive while a reconnecting client's replay is read; past this many
 * the client is dropped rather than held in memory (it reconnects and replays again).
 */
const MAX_ENTRIES_HELD_DURING_REPLAY = 1000;

/**
 * How long before a replay an entry may have been written and still be announced live:
 * generously more than a transaction and a NATS delivery take.
 */
const IN_FLIGHT_WINDOW_MS = 5 * 60_000;

/** Milliseconds since the epoch that a UUIDv7 carries in its first 48 bits. */
function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * Fans the action logs every instance publishes out to this instance's stream clients. The
 * instance holds one NATS subscription, whatever its number of clients.
 */
export function createEventStreamService(deps: Pick<Dependencies, 'db' | 'nats' | 'logger'>) {
  const listeners = new Set<Listener>();
  const subscription = deps.nats.subscribe(realtimeEventsSubject, {
    callback: (error, message) => {
      if (error) return deps.logger.warn('event stream subscription', { error: String(error) });
      let log: ActionLog;
      try {
        log = message.json<ActionLog>();
      } catch {
        return deps.logger.warn('unreadable action log event', { subject: message.subject });
      }
      for (const listener of listeners) listener(log);
    },
  });
  void endStreamsOnReconnect();

  /**
   * While this instance was cut off from NATS, entries published elsewhere passed its clients
   * by. Once it is back, every stream open until then is ended, so each client reconnects with
   * its Last-Event-ID and the replay hands it what the outage hid.
   */
  async function endStreamsOnReconnect(): Promise<void> {
    for await (const status of deps.nats.status()) {
      if (status.type !== Events.Reconnect) continue;
      const cut = [...listeners];
      listeners.clear();
      for (const listener of cut) listener.sink.end();
    }
  }

  return {
    /**
     * Subscribes a client. With `lastEventId`, the entries after it are read from the primary
     * (a replica may not hold the newest yet) and handed over first. Live entries are already
     * being collected while that happens, so an entry committed during the replay is in the
     * table read, in the collection or both: it is handed over once, by id, never lost at the
     * seam and never repeated.
     *
     * The first table read happens before the sink gets anything, so a database failure is
     * still an ordinary error response.
     */
    async subscribe(
      query: ActionLogFilter,
      lastEventId: string | undefined,
      sink: ActionSink,
    ): Promise<ActionSubscription> {
      const filter = pickFilter(query);
      if (deps.nats.isClosed()) {
        throw new AppError('system:dependency_unavailable', 'The event bus is unavailable');
      }
      // Replayed ids that a live message may still announce: one collected during the replay,
      // or one still on its way after the switch to live. Only an entry written shortly before
      // the replay can be either, so older ids (their time is part of a UUIDv7) are not kept,
      // and a long replay costs no memory per entry.
      const replayed = new Set<string>();
      const recentFrom = Date.now() - IN_FLIGHT_WINDOW_MS;
      // The entry the client had last, from an instance that heard it before this one did:
      // its announcement may still be on its way here. Only that one is certain to have
      // reached the client; an entry with a lower id may have committed later (an id is
      // taken at the insert, inside the transaction), so it is sent rather than lost.
      const lastSeen = lastEventId?.toLowerCase();
      let live = false;
      let held: ActionLog[] | undefined = [];
      const listener: Listener = Object.assign(
        (log: ActionLog) => {
          if (!matchesFilter(filter, log)) return;
          if (log.id === lastSeen) return;
          if (live) {
            if (replayed.has(log.id)) return;
            if (!sink.send(log)) listeners.delete(listener);
          } else if (held) {
            held.push(log);
            if (held.length > MAX_ENTRIES_HELD_DURING_REPLAY) {
              held = undefined;
              listeners.delete(listener);
              sink.drop('too many live entries during replay');
            }
          }
        },
        { sink },
      );
      listeners.add(listener);
      const close = () => void listeners.delete(listener);

      try {
        let after = lastEventId;
        while (after !== undefined) {
          const rows = await findActionLogsAfter(deps.db.write, filter, after, REPLAY_BATCH);
          for (const row of rows) {
            if (!held) return { close };
            if (uuidv7Time(row.id) >= recentFrom) replayed.add(row.id);
            if (!sink.send(toActionLog(row))) return closeNow(close);
          }
          after = rows.length === REPLAY_BATCH ? rows.at(-1)!.id : undefined;
        }
        if (!held) return { close };
        for (const log of held) {
          if (!replayed.has(log.id) && !sink.send(log)) return closeNow(close);
        }
        held = undefined;
        live = true;
        return { close };
      } catch (error) {
        close();
        throw error;
      }
    },

    /** Stops receiving events; the streams themselves are ended by their HTTP layer. */
    close(): void {
      listeners.clear();
      subscription.unsubscribe();
    },
  };
}

function closeNow(close: () => void): { close: () => void } {
  close();
  return { close };
}

export type EventStreamService = ReturnType<typeof createEventStreamService>;
