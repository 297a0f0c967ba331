import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Document = Record<string, unknown>;

interface Index {
  primaryKey: string | null;
  settings: Record<string, unknown>;
  documents: Map<string, Document>;
}

interface Task {
  uid: number;
  indexUid: string | null;
  status: 'enqueued' | 'processing' | 'succeeded' | 'failed';
  type: string;
  error: { message: string; code: string; type: string; link: string } | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface MeilisearchServer {
  url: string;
  apiKey: string;
  /** Every call received, as `METHOD /path`, in order. */
  calls: string[];
  indexes: Map<string, Index>;
  close(): Promise<void>;
}

const DEFAULT_SEARCHABLE = ['*'];

/** A document or request value as text; anything but a string or number counts as absent. */
const text = (value: unknown, fallback = ''): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;

const words = (value: string) => value.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function errorBody(code: string, message: string, type = 'invalid_request') {
  return { message, code, type, link: `https://docs.meilisearch.com/errors#${code}` };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  return raw === '' ? undefined : JSON.parse(raw);
}

/** The crop and highlight of one attribute, as Meilisearch's `_formatted` gives them. */
function format(
  value: string,
  terms: string[],
  options: { crop: boolean; highlight: boolean; cropLength: number; cropMarker: string },
  tags: { pre: string; post: string },
): string {
  const tokens = value.split(/(\s+)/);
  const matches = (token: string) => words(token).some((w) => terms.some((t) => w.startsWith(t)));
  let first = 0;
  let last = tokens.length;
  if (options.crop) {
    const wordIndexes = tokens.flatMap((t, i) => (/\S/.test(t) ? [i] : []));
    const hit = wordIndexes.findIndex((i) => matches(tokens[i]!));
    const start = Math.max(0, (hit < 0 ? 0 : hit) - Math.floor(options.cropLength / 2));
    const kept = wordIndexes.slice(start, start + options.cropLength);
    first = kept[0] ?? 0;
    last = (kept.at(-1) ?? -1) + 1;
  }
  const body = tokens
    .slice(first, last)
    .map((t) =>
      options.highlight
        ? t.replace(/[\p{L}\p{N}]+/gu, (w) =>
            terms.some((term) => w.toLowerCase().startsWith(term))
              ? `${tags.pre}${w}${tags.post}`
              : w,
          )
        : t,
    )
    .join('');
  const before = options.crop && first > 0 ? options.cropMarker : '';
  const after = options.crop && last < tokens.length ? options.cropMarker : '';
  return `${before}${body}${after}`;
}

/**
 * A local HTTP server that answers the Meilisearch v1 endpoints the search adapter calls
 * (POST /indexes, PATCH and GET /indexes/{uid}/settings, POST and DELETE documents, POST
 * search, GET /tasks/{uid}) with the documented request and response shapes: writes answer
 * 202 with a summarized task that then reads as succeeded or failed, errors carry
 * message/code/type/link, and a wrong key is refused with `invalid_api_key`. Search matches
 * every query word as a prefix of a word of a searchable attribute.
 */
export async function startMeilisearchServer(
  apiKey = 'test-master-key',
): Promise<MeilisearchServer> {
  const indexes = new Map<string, Index>();
  const tasks = new Map<number, Task>();
  const calls: string[] = [];
  let nextTask = 0;

  const ensureIndex = (uid: string, primaryKey: string | null = null): Index => {
    let index = indexes.get(uid);
    if (!index) {
      index = { primaryKey, settings: {}, documents: new Map() };
      indexes.set(uid, index);
    }
    index.primaryKey ??= primaryKey;
    return index;
  };

  /** Runs the change at once; the task reads as finished from its first GET. */
  const enqueue = (indexUid: string, type: string, apply: () => Task['error']) => {
    const now = new Date().toISOString();
    const task: Task = {
      uid: nextTask++,
      indexUid,
      status: 'enqueued',
      type,
      error: null,
      enqueuedAt: now,
      startedAt: null,
      finishedAt: null,
    };
    const error = apply();
    tasks.set(task.uid, {
      ...task,
      status: error ? 'failed' : 'succeeded',
      error,
      startedAt: now,
      finishedAt: now,
    });
    return { taskUid: task.uid, indexUid, status: task.status, type, enqueuedAt: now };
  };

  function search(index: Index, body: Record<string, unknown>) {
    const q = typeof body.q === 'string' ? body.q : '';
    const terms = words(q);
    const hitsPerPage = Number(body.hitsPerPage ?? 20);
    const page = Number(body.page ?? 1);
    const searchable =
      (index.settings.searchableAttributes as string[] | undefined) ?? DEFAULT_SEARCHABLE;
    const fieldsOf = (doc: Document) =>
      searchable[0] === '*' ? Object.keys(doc) : searchable.filter((a) => a in doc);
    let found = [...index.documents.values()].filter((doc) =>
      terms.every((term) =>
        fieldsOf(doc).some((f) => words(text(doc[f])).some((w) => w.startsWith(term))),
      ),
    );
    const [sort] = (body.sort as string[] | undefined) ?? [];
    if (sort) {
      const [attribute, order] = sort.split(':') as [string, string];
      const direction = order === 'desc' ? -1 : 1;
      found = found.sort(
        (a, b) => text(a[attribute]).localeCompare(text(b[attribute])) * direction,
      );
    }
    const retrieve = (body.attributesToRetrieve as string[] | undefined) ?? ['*'];
    const crop = (body.attributesToCrop as string[] | undefined) ?? [];
    const highlight = (body.attributesToHighlight as string[] | undefined) ?? [];
    const tags = {
      pre: text(body.highlightPreTag, '<em>'),
      post: text(body.highlightPostTag, '</em>'),
    };
    const hits = found.slice((page - 1) * hitsPerPage, page * hitsPerPage).map((doc) => {
      const kept = retrieve[0] === '*' ? Object.keys(doc) : retrieve;
      const hit: Document = Object.fromEntries(
        kept.filter((a) => a in doc).map((a) => [a, doc[a]]),
      );
      if (crop.length > 0 || highlight.length > 0) {
        const formatted: Document = { ...hit };
        for (const attribute of new Set([...crop, ...highlight])) {
          formatted[attribute] = format(
            text(doc[attribute]),
            terms,
            {
              crop: crop.includes(attribute),
              highlight: highlight.includes(attribute),
              cropLength: Number(body.cropLength ?? 10),
              cropMarker: text(body.cropMarker, '…'),
            },
            tags,
          );
        }
        hit._formatted = formatted;
      }
      return hit;
    });
    return {
      hits,
      query: q,
      processingTimeMs: 0,
      hitsPerPage,
      page,
      totalPages: Math.ceil(found.length / hitsPerPage),
      totalHits: found.length,
    };
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://meilisearch');
    const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    calls.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return json(403, errorBody('invalid_api_key', 'The provided API key is invalid.', 'auth'));
    }
    const body = (await readJson(req)) as Record<string, unknown> | Document[] | undefined;
    const [root, uid, part, id] = path;

    if (root === 'tasks' && req.method === 'GET' && uid !== undefined) {
      const task = tasks.get(Number(uid));
      return task
        ? json(200, { ...task, details: {}, duration: 'PT0S', canceledBy: null })
        : json(404, errorBody('task_not_found', `Task \`${uid}\` not found.`));
    }
    if (root !== 'indexes') return json(404, errorBody('not_found', 'Not found'));

    if (req.method === 'POST' && uid === undefined) {
      const { uid: newUid, primaryKey } = body as { uid: string; primaryKey?: string };
      return json(
        202,
        enqueue(newUid, 'indexCreation', () => {
          if (indexes.has(newUid)) {
            return errorBody('index_already_exists', `Index \`${newUid}\` already exists.`);
          }
          ensureIndex(newUid, primaryKey ?? null);
          return null;
        }),
      );
    }
    if (uid === undefined) return json(404, errorBody('not_found', 'Not found'));

    if (part === 'settings' && req.method === 'PATCH') {
      return json(
        202,
        enqueue(uid, 'settingsUpdate', () => {
          const index = ensureIndex(uid);
          index.settings = { ...index.settings, ...(body as Record<string, unknown>) };
          return null;
        }),
      );
    }
    if (part === 'settings' && req.method === 'GET') {
      const index = indexes.get(uid);
      return index
        ? json(200, index.settings)
        : json(404, errorBody('index_not_found', `Index \`${uid}\` not found.`));
    }
    if (part === 'documents' && req.method === 'POST') {
      return json(
        202,
        enqueue(uid, 'documentAdditionOrUpdate', () => {
          const requested = url.searchParams.get('primaryKey');
          const index = ensureIndex(uid, requested);
          if (requested && index.primaryKey !== requested) {
            return errorBody(
              'index_primary_key_already_exists',
              `Index \`${uid}\`: primary key has already been set.`,
            );
          }
          if (!index.primaryKey) {
            return errorBody('index_primary_key_no_candidate_found', 'No primary key found.');
          }
          for (const doc of body as Document[]) {
            index.documents.set(text(doc[index.primaryKey]), doc);
          }
          return null;
        }),
      );
    }
    if (part === 'documents' && req.method === 'DELETE' && id !== undefined) {
      return json(
        202,
        enqueue(uid, 'documentDeletion', () => {
          indexes.get(uid)?.documents.delete(id);
          return null;
        }),
      );
    }
    if (part === 'search' && req.method === 'POST') {
      const index = indexes.get(uid);
      return index
        ? json(200, search(index, body as Record<string, unknown>))
        : json(404, errorBody('index_not_found', `Index \`${uid}\` not found.`));
    }
    return json(404, errorBody('not_found', 'Not found'));
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      res.writeHead(500).end(JSON.stringify(errorBody('internal', String(error), 'internal')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    calls,
    indexes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
