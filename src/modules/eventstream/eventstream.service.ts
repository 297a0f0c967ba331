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
import type { ActionLogAnnouncement } from '../action-logs/action-logs.recorder.ts';
import {
  findActionLogsAfterPosition,
  findActionLogsBetweenPositions,
  lastActionLogPosition,
  resumePosition,
} from '../action-logs/action-logs.repository.ts';
import type { ActionLogRow } from '../../shared/db/rows.ts';
import { createStreamSequence, type StreamEntry } from './eventstream.sequence.ts';

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
  (entry: StreamEntry): void;
  sink: ActionSink;
}

const REPLAY_BATCH = 500;

/**
 * Live entries that may arrive while a reconnecting client's replay is read; past this many
 * the client is dropped rather than held in memory (it reconnects and replays again).
 */
const MAX_ENTRIES_HELD_DURING_REPLAY = 1000;

const toEntry = (row: ActionLogRow): StreamEntry => ({
  position: BigInt(row.position!),
  log: toActionLog(row),
});

/**
 * Fans the action logs every instance announces out to this instance's stream clients, in
 * commit order (eventstream.sequence.ts). The instance holds one NATS subscription, whatever
 * its number of clients.
 */
export function createEventStreamService(deps: Pick<Dependencies, 'db' | 'nats' | 'logger'>) {
  const listeners = new Set<Listener>();

  /** Ends every open stream: each client reconnects with its Last-Event-ID and replays. */
  function endAll(): void {
    const cut = [...listeners];
    listeners.clear();
    for (const listener of cut) listener.sink.end();
  }

  const sequence = createStreamSequence({
    start: () => lastActionLogPosition(deps.db.write),
    read: async (from, to) =>
      (await findActionLogsBetweenPositions(deps.db.write, from, to)).map(toEntry),
    deliver: (entry) => {
      for (const listener of listeners) listener(entry);
    },
    lost: (reason) => {
      deps.logger.warn('event streams replay', { reason });
      endAll();
    },
  });

  const subscription = deps.nats.subscribe(realtimeEventsSubject, {
    callback: (error, message) => {
      if (error) return deps.logger.warn('event stream subscription', { error: String(error) });
      let position: bigint;
      let log: ActionLog;
      try {
        // One from an instance still on code from before positions has none: the entry
        // reaches the streams all the same, read as a gap once the next announcement comes.
        const { position: text, ...entry } = message.json<ActionLogAnnouncement>();
        position = BigInt(text);
        log = entry;
      } catch {
        return deps.logger.warn('unreadable action log event', { subject: message.subject });
      }
      sequence.accept(position, log);
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
      sequence.restart();
      endAll();
    }
  }

  return {
    /**
     * Subscribes a client. With `lastEventId`, the entries after it in the stream's order are
     * read from the primary (a replica may not hold the newest yet) and handed over first.
     * Live entries are already being collected while that happens; both come in position
     * order, so each is handed over once, whether the table read or the live feed has it, and
     * an entry that committed after the client's last one is never skipped, whatever its id.
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
      // The position of the last entry the client has: nothing at or before it is sent.
      let sent: bigint | undefined;
      const send = (entry: StreamEntry): boolean => {
        if (sent !== undefined && entry.position <= sent) return true;
        sent = entry.position;
        return sink.send(entry.log);
      };
      let live = false;
      let held: StreamEntry[] | undefined = [];
      const listener: Listener = Object.assign(
        (entry: StreamEntry) => {
          if (!matchesFilter(filter, entry.log)) return;
          if (live) {
            if (!send(entry)) listeners.delete(listener);
          } else if (held) {
            held.push(entry);
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
        if (lastEventId !== undefined) {
          sent = await resumePosition(deps.db.write, lastEventId.toLowerCase());
          for (;;) {
            const rows = await findActionLogsAfterPosition(
              deps.db.write,
              filter,
              sent,
              REPLAY_BATCH,
            );
            for (const row of rows) {
              if (!held) return { close };
              if (!send(toEntry(row))) return closeNow(close);
            }
            if (rows.length < REPLAY_BATCH) break;
          }
        }
        if (!held) return { close };
        for (const entry of held) {
          if (!send(entry)) return closeNow(close);
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
