import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import newman from 'newman';
import type { NewmanRunSummary } from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isEventStreamItem,
  POSTMAN_COLLECTION_FILE,
  POSTMAN_ENVIRONMENT_FILE,
} from '../../scripts/gen/postman.ts';
import { operations, type Operation } from '../../src/generated/operations.ts';
import { loadContract } from '../../src/http/contract.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, signIn, type CreatedUser } from '../support/factories.ts';

type Json = Record<string, unknown>;

const contract = loadContract();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
// The whole document under one id, so a response schema is found by its JSON pointer and its
// `#/components/...` references resolve inside the contract.
ajv.addSchema(contract, 'contract');

const pointer = (...parts: string[]) =>
  parts.map((part) => `/${part.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

function at(path: string): unknown {
  let target: unknown = contract;
  for (const part of path.slice(1).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    target = (target as Json | undefined)?.[key];
  }
  return target;
}

/** The JSON pointer of the response object for a status, following a components reference. */
function responsePointer(op: Operation, status: number): string | undefined {
  const path = pointer('paths', op.path, op.method, 'responses', String(status));
  const response = at(path) as Json | undefined;
  if (!response) return undefined;
  return typeof response.$ref === 'string' ? response.$ref.slice(1) : path;
}

function operationOf(method: string, path: string): Operation | undefined {
  // A literal segment beats a template parameter (`/profile/id` before `/profile/{x}`).
  return operations
    .filter((op) => op.method === method.toLowerCase())
    .filter((op) => new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))
    .sort((a, b) => a.path.split('{').length - b.path.split('{').length)[0];
}

interface Answer {
  request: string;
  operationId: string | undefined;
  status: number;
  problems: string[];
}

/** Checks one answer from the outside: declared status, declared media type, valid body. */
function check(op: Operation | undefined, status: number, type: string, body: string): string[] {
  if (!op) return ['no operation of the contract has this method and path'];
  const where = responsePointer(op, status);
  if (!where) return [`${status} is not a status ${op.operationId} declares`];
  const problems: string[] = [];
  if (status >= 500 && !(status === 501 && op.pending)) problems.push(`answered ${status}`);
  const content = (at(where) as Json).content as Json | undefined;
  if (body === '') {
    if (content)
      problems.push(`empty body where the contract declares ${Object.keys(content).join(', ')}`);
    return problems;
  }
  const media = Object.keys(content ?? {}).find((declared) => type.startsWith(declared));
  if (!media) return [...problems, `${type || 'no content type'} is not declared for ${status}`];
  if (media !== 'application/json') return problems;
  const validate = ajv.getSchema(`contract#${where}${pointer('content', media, 'schema')}`)!;
  if (!validate(JSON.parse(body))) {
    problems.push(`body does not match the schema: ${ajv.errorsText(validate.errors)}`);
  }
  return problems;
}

interface Exchange {
  item: string;
  method: string;
  path: string;
  response: { code: number; stream?: Buffer; headers: { get(name: string): string | undefined } };
}

/** What newman's `request` event carries (its typings leave it untyped). */
interface RequestEvent {
  item: { name: string };
  request: { method: string; url: { getPath(): string } };
  response: Exchange['response'];
}

/** Runs newman and records every HTTP exchange, the ones the scripts send included. */
function runNewman(
  options: newman.NewmanRunOptions,
): Promise<{ summary: NewmanRunSummary; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = [];
  return new Promise((resolve, reject) => {
    newman
      .run(options, (error, summary) => (error ? reject(error) : resolve({ summary, exchanges })))
      .on('request', (error: Error | null, args: RequestEvent) => {
        if (error) return reject(error);
        exchanges.push({
          item: args.item.name,
          method: args.request.method,
          path: args.request.url.getPath(),
          response: args.response,
        });
      });
  });
}

interface CollectionItem {
  name: string;
  item?: CollectionItem[];
  request?: {
    method: string;
    url: { host: string[]; path: string[] };
    header?: { key: string; value: string; disabled?: boolean }[];
  };
}

/** Takes the event-stream requests out of the collection's folders and returns them. */
function takeEventStreams(items: CollectionItem[]): CollectionItem[] {
  const taken: CollectionItem[] = [];
  for (const folder of items) {
    if (!folder.item) continue;
    taken.push(...folder.item.filter(isEventStreamItem));
    folder.item = folder.item.filter((item) => !isEventStreamItem(item));
  }
  return taken;
}

/**
 * Sends an event-stream request as the collection spells it and reads its first chunk (a
 * keep-alive comment, which this app sends soon), then leaves: newman would wait for an end
 * that never comes.
 */
async function openEventStream(item: CollectionItem, baseUrl: string): Promise<Exchange> {
  const request = item.request!;
  const path = `/${request.url.path.join('/')}`;
  const headers = Object.fromEntries(
    (request.header ?? []).filter((h) => !h.disabled).map((h) => [h.key, h.value]),
  );
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, { headers, signal: controller.signal });
  const first = await response.body!.getReader().read();
  controller.abort();
  return {
    item: item.name,
    method: request.method,
    path,
    response: {
      code: response.status,
      stream: Buffer.from(first.value ?? new Uint8Array()),
      headers: { get: (name) => response.headers.get(name) ?? undefined },
    },
  };
}

let app: TestApp;
let user: CreatedUser;
beforeAll(async () => {
  app = await startTestApp({ eventStream: { keepAliveMs: 50 } });
  user = await createUser(app.deps);
  // A second session for the collection's "revoke a session" request to end.
  await signIn(app.baseUrl, { email: user.user.email, password: user.password! });
});
afterAll(async () => {
  await app.close();
});

describe('the Postman collection, run by newman', () => {
  it('When every request runs as a freshly created user, then each answer is declared by the contract, its body matches the schema, and only pending operations answer 5xx (501)', async () => {
    const collection = JSON.parse(readFileSync(POSTMAN_COLLECTION_FILE, 'utf8')) as Json;
    const streams = takeEventStreams(collection.item as CollectionItem[]);
    const environment = JSON.parse(readFileSync(POSTMAN_ENVIRONMENT_FILE, 'utf8')) as {
      values: { key: string; value: string }[];
    };
    const fixture: Record<string, string> = {
      baseUrl: app.baseUrl,
      email: user.user.email,
      password: user.password!,
    };
    for (const variable of environment.values) variable.value = fixture[variable.key]!;

    const { summary, exchanges } = await runNewman({
      collection,
      environment,
      reporters: [],
      timeoutRequest: 10_000,
    });

    for (const stream of streams) exchanges.unshift(await openEventStream(stream, app.baseUrl));

    const answers: Answer[] = exchanges.map(({ item, method, path, response }) => {
      const op = operationOf(method, path);
      return {
        request: `${item}: ${method} ${path}`,
        operationId: op?.operationId,
        status: response.code,
        problems: check(
          op,
          response.code,
          response.headers.get('content-type') ?? '',
          response.stream?.toString('utf8') ?? '',
        ),
      };
    });

    const statuses = new Map<number, number>();
    for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    process.stdout.write(
      `newman: ${answers.length} requests, ${summary.run.failures.length} failed assertions; ` +
        `statuses ${[...statuses]
          .sort(([a], [b]) => a - b)
          .map(([status, count]) => `${status}×${count}`)
          .join(', ')}\n`,
    );

    expect(answers.filter((answer) => answer.problems.length > 0)).toEqual([]);
    expect(summary.run.failures.map((failure) => failure.error.message)).toEqual([]);
    const requested = new Set(answers.map((answer) => answer.operationId));
    expect(operations.map((op) => op.operationId).filter((id) => !requested.has(id))).toEqual([]);
    // The collection's own scripts carried the fixture's session and ids into the requests.
    expect(answers.find((a) => a.operationId === 'getMe')?.status).toBe(200);
    expect(answers.find((a) => a.operationId === 'getProfileById')?.status).toBe(200);
    expect(answers.find((a) => a.operationId === 'revokeSession')?.status).toBe(204);
    expect(answers.at(-1)).toMatchObject({ operationId: 'logout', status: 204 });
    expect(answers.find((a) => a.operationId === 'streamActions')?.status).toBe(200);
  });
});
