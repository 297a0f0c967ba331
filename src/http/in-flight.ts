import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** The responses a server has not closed yet. */
export interface OpenResponses extends Iterable<ServerResponse> {
  readonly size: number;
}

export interface InFlightResponses {
  /** Whether a response on this socket has sent its head and not closed yet. */
  underWayOn(socket: Duplex): boolean;
  /** The responses not closed yet, oldest first. */
  readonly responses: OpenResponses;
  /** Runs for every request as it arrives, before the app sees it. */
  onRequest(listener: (req: IncomingMessage, res: ServerResponse) => void): void;
  /** Runs for every response once it has closed (answered in full, or its client gone). */
  onClose(listener: (res: ServerResponse) => void): void;
}

interface Link {
  prev: Link;
  next: Link;
}
interface Entry extends Link {
  res: ServerResponse;
}

/**
 * The responses a server has not closed yet, kept once for everything that must know them:
 * the shutdown drain and the answer to a request Node refuses. One listener on the server and
 * one shared `close` listener per response, with no closure made per request.
 *
 * They are kept in a list linked through the entries, not in a Set. A Set that takes and
 * drops an entry per request leaves V8 a trail of superseded hash tables, each linked to the
 * next and still holding the responses it had; once one of them sits in the old generation,
 * every young collection keeps the whole trail alive, and the closed requests' objects with
 * it, until a full collection. With a Set the cache-hit read promoted 2 MB per young
 * collection, twice its library floor, and each collection took twice as long.
 */
export function trackInFlight(server: Server): InFlightResponses {
  // A key of this tracker's own, so that two trackers on one server keep separate lists.
  const entryKey = Symbol('in-flight entry');
  type TrackedResponse = ServerResponse & { [entryKey]?: Entry };
  // The list's ends meet at this link; an empty list is the link alone.
  const head = {} as Link;
  head.prev = head.next = head;
  let size = 0;
  const requestListeners: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  const closeListeners: ((res: ServerResponse) => void)[] = [];

  function closed(this: TrackedResponse) {
    const entry = this[entryKey];
    if (!entry || entry.next === entry) return;
    entry.prev.next = entry.next;
    entry.next.prev = entry.prev;
    // A closed entry points at nothing else, so it holds no other request alive.
    entry.prev = entry.next = entry;
    size -= 1;
    for (const listener of closeListeners) listener(this);
  }

  /**
   * The open responses, oldest first, for a caller that goes through them at once (no await
   * between steps). At most `size` steps, so that a list broken by a defect ends the walk
   * instead of spinning forever.
   */
  function* open(): Generator<ServerResponse> {
    let link = head.next;
    for (let left = size; left > 0 && link !== head; left -= 1, link = link.next) {
      yield (link as Entry).res;
    }
  }

  const responses: OpenResponses = {
    get size() {
      return size;
    },
    // A copy, so that responses closing while a caller goes through them change nothing.
    [Symbol.iterator]() {
      return [...open()][Symbol.iterator]();
    },
  };

  // Ahead of the app, so a listener can set a header before any handler answers.
  server.prependListener('request', (req: IncomingMessage, res: TrackedResponse) => {
    const entry: Entry = { res, prev: head.prev, next: head };
    head.prev.next = entry;
    head.prev = entry;
    size += 1;
    res[entryKey] = entry;
    res.on('close', closed);
    for (const listener of requestListeners) listener(req, res);
  });
  return {
    responses,
    // A scan, not a per-socket index: it runs only when Node refuses a request, and an index
    // would cost every request an entry.
    underWayOn(socket) {
      for (const res of open()) if (res.req.socket === socket && res.headersSent) return true;
      return false;
    },
    onRequest(listener) {
      requestListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
  };
}
