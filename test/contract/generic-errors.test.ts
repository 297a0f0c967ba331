import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../../src/http/contract.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, signIn } from '../support/factories.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { eventually } from '../support/wait.ts';

/*
 * Every operation's contract entry must declare what the pipeline answers for it, including the
 * refusals no handler writes. This reads openapi.yaml as a client generator does, provokes those
 * refusals over HTTP for every operation, and checks each answer's status against the declared
 * responses and its code against `x-error-codes`. The refusals come before the guards: the
 * rate limiter never counts them, startTestApp's roomy limits keep the valid requests here
 * clear of it, and Turnstile, which only runs behind the limiter, is not configured in tests.
 * One guard does come first: a session-required upload checks the session before it reads a
 * multipart body (an anonymous upload is refused unread), so the refusals of such a body are
 * provoked as a signed-in caller.
 */

type Json = Record<string, unknown>;

const document = loadContract();

function resolve(node: unknown): Json {
  const ref = (node as Json | undefined)?.$ref;
  if (typeof ref !== 'string') return (node ?? {}) as Json;
  return resolve(
    ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Json)[key], document),
  );
}

interface Parameter {
  name: string;
  in: string;
  /** Set for required parameters only: the requests send no optional one. */
  value?: string;
}

interface Operation {
  operationId: string;
  method: string;
  path: string;
  probe: boolean;
  pending: boolean;
  sessionRequired: boolean;
  rateLimited: boolean;
  eventStream: boolean;
  parameters: Parameter[];
  bodyTypes: string[];
  /** The request body example, for a request that passes validation. */
  jsonExample: unknown;
  /** The binary properties of the multipart body: a valid request sends a file in each. */
  multipartFiles: string[];
  statuses: Set<string>;
  codes: Set<string>;
}

/** A valid value for a required parameter, from its examples or its enum. */
function parameterValue(operationId: string, parameter: Json): string {
  const schema = resolve(parameter.schema);
  const candidates = [schema.examples, schema.enum].map((list) =>
    Array.isArray(list) ? (list as unknown[])[0] : undefined,
  );
  const value: unknown = parameter.example ?? candidates[0] ?? schema.example ?? candidates[1];
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Error(`${operationId}: give parameter ${String(parameter.name)} an example`);
  }
  return String(value);
}

function readOperations(): Operation[] {
  const found: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item as Json)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      const op = raw as Json;
      const operationId = String(op.operationId);
      const responses = op.responses as Json;
      const content = resolve(op.requestBody).content as Record<string, Json> | undefined;
      const security = (op.security ?? document.security) as Json[] | undefined;
      found.push({
        operationId,
        method: method.toUpperCase(),
        path,
        probe: op['x-probe'] === true,
        pending: op['x-pending'] === true,
        sessionRequired: (security ?? []).some((entry) => 'sessionCookie' in entry),
        rateLimited: op['x-rate-limit'] !== undefined,
        eventStream: Object.values(responses).some(
          (response) => 'text/event-stream' in ((resolve(response).content as Json) ?? {}),
        ),
        parameters: ((op.parameters as unknown[]) ?? []).map((reference) => {
          const parameter = resolve(reference);
          const required = parameter.required === true;
          return {
            name: String(parameter.name),
            in: String(parameter.in),
            ...(required ? { value: parameterValue(operationId, parameter) } : {}),
          };
        }),
        bodyTypes: Object.keys(content ?? {}),
        jsonExample: content?.['application/json']?.example,
        multipartFiles: Object.entries(
          (resolve(content?.['multipart/form-data']?.schema).properties ?? {}) as Json,
        )
          .filter(([, property]) => resolve(property).format === 'binary')
          .map(([name]) => name),
        statuses: new Set(Object.keys(responses)),
        codes: new Set(op['x-error-codes'] as string[]),
      });
    }
  }
  return found;
}

const operations = readOperations();
const withBody = operations.filter((op) => op.bodyTypes.length > 0);
const withJsonBody = operations.filter((op) => op.bodyTypes.includes('application/json'));
const withMultipartBody = operations.filter((op) => op.bodyTypes.includes('multipart/form-data'));
const withoutBody = operations.filter((op) => op.bodyTypes.length === 0);

interface Answer {
  status: number;
  code?: string;
  details?: string;
}

interface Sent {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One request to `op` with its path and required query parameters filled from the contract's
 * examples. node:http rather than fetch, which cannot send a GET with a body. An event stream
 * is cut after its headers.
 */
function send(app: TestApp, op: Operation, sent: Sent = {}): Promise<Answer> {
  let path = op.path;
  const query = new URLSearchParams();
  for (const { name, in: location, value } of op.parameters) {
    if (value === undefined) continue;
    if (location === 'path') path = path.replace(`{${name}}`, encodeURIComponent(value));
    else if (location === 'query') query.set(name, value);
  }
  for (const [name, value] of Object.entries(sent.query ?? {})) query.set(name, value);
  const search = query.size > 0 ? `?${query.toString()}` : '';
  const url = new URL(`${app.baseUrl}${path}${search}`);
  const headers: Record<string, string> = { ...sent.headers };
  if (sent.body !== undefined) headers['content-length'] = String(Buffer.byteLength(sent.body));

  return new Promise((resolveAnswer, reject) => {
    const req = request(url, { method: op.method, headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.destroy();
        resolveAnswer({ status });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = res.headers['content-type']?.includes('json') && text !== '';
        const body = (isJson ? JSON.parse(text) : {}) as Answer;
        resolveAnswer({ status, code: body.code, details: body.details });
      });
    });
    req.on('error', reject);
    req.end(sent.body);
  });
}

/** A body that passes validation, so the refusal under test is the only one. */
function validBody(op: Operation): Sent {
  if (op.bodyTypes.includes('application/json')) {
    if (op.jsonExample === undefined)
      throw new Error(`${op.operationId}: give its body an example`);
    return {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(op.jsonExample),
    };
  }
  if (op.bodyTypes.includes('multipart/form-data')) {
    const parts = op.multipartFiles.map(
      (name) =>
        `--x\r\nContent-Disposition: form-data; name="${name}"; filename="f"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\nbytes\r\n',
    );
    return multipart(`${parts.join('')}--x--\r\n`);
  }
  return {};
}

function multipart(body: string): Sent {
  return { headers: { 'content-type': 'multipart/form-data; boundary=x' }, body };
}

/** An answer is declared when its status is a response of the operation and its code listed. */
function undeclared(op: Operation, answer: Answer): string[] {
  const problems: string[] = [];
  if (!op.statuses.has(String(answer.status))) {
    problems.push(`${op.operationId} answered ${answer.status}, which it does not declare`);
  }
  if (answer.code !== undefined && !op.codes.has(answer.code)) {
    problems.push(`${op.operationId} answered ${answer.code}, which x-error-codes does not list`);
  }
  return problems;
}

function expectDeclared(op: Operation, answer: Answer, refusal?: Pick<Answer, 'status' | 'code'>) {
  if (refusal) expect({ status: answer.status, code: answer.code }).toEqual(refusal);
  expect(undeclared(op, answer)).toEqual([]);
}

const names = (list: Operation[]) => list.map((op) => [op.operationId, op] as const);

/**
 * What an operation answers when the pipeline lets the request through: its own success
 * status (the first 2xx it declares), or the 501 of a pending one.
 */
function ownAnswer(op: Operation): Pick<Answer, 'status' | 'code'> {
  if (op.pending) return { status: 501, code: 'system:not_implemented' };
  const success = [...op.statuses].filter((s) => s.startsWith('2')).sort()[0];
  return { status: Number(success), code: undefined };
}

describe('refusals of the pipeline, for every operation', () => {
  let app: TestApp;
  let cookie: string;
  beforeAll(async () => {
    app = await startTestApp();
    const { user, password } = await createUser(app.deps);
    cookie = await signIn(app.baseUrl, { email: user.email, password: password! });
  });
  /** A multipart body sent as a caller the operation lets read it. */
  const asReader = (op: Operation, sent: Sent): Sent =>
    op.sessionRequired && sent.headers?.['content-type']?.startsWith('multipart/form-data')
      ? { ...sent, headers: { ...sent.headers, cookie } }
      : sent;
  afterAll(async () => {
    await app.close();
  });

  it('When the contract is read, then it has operations of every shape the rules cover', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const list of [withJsonBody, withMultipartBody, withoutBody]) {
      expect(list.length).toBeGreaterThan(0);
    }
    expect(operations.some((op) => op.probe)).toBe(true);
    expect(operations.some((op) => op.eventStream)).toBe(true);
  });

  it.each(names(operations))(
    'When %s gets an unknown query parameter, then the answer is declared (400 validation_error unless it is a probe)',
    async (_id, op) => {
      const answer = await send(
        app,
        op,
        asReader(op, { ...validBody(op), query: { unknown_parameter: '1' } }),
      );
      if (op.probe) {
        expectDeclared(op, answer, ownAnswer(op));
      } else {
        expectDeclared(op, answer, { status: 400, code: 'general:validation_error' });
        expect(answer.details).toContain('unknown_parameter');
      }
    },
  );

  it.each(names(withBody))(
    'When %s gets a body of the wrong content type, then it answers its declared 415',
    async (_id, op) => {
      const answer = await send(app, op, {
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      expectDeclared(op, answer, { status: 415, code: 'general:unsupported_media_type' });
    },
  );

  it.each(names(withJsonBody))(
    'When %s gets malformed JSON, then it answers its declared 400 bad_request',
    async (_id, op) => {
      const answer = await send(app, op, {
        headers: { 'content-type': 'application/json' },
        body: '{"unfinished": ',
      });
      expectDeclared(op, answer, { status: 400, code: 'general:bad_request' });
    },
  );

  it.each(names(withJsonBody))(
    'When %s gets a JSON body over 1 MiB, then it answers its declared 413',
    async (_id, op) => {
      const answer = await send(app, op, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }),
      });
      expectDeclared(op, answer, { status: 413, code: 'general:payload_too_large' });
    },
  );

  it.each(names(withMultipartBody))(
    'When %s gets a malformed multipart body, then it answers a declared 400',
    async (_id, op) => {
      const answer = await send(app, op, asReader(op, multipart('not a multipart body')));
      expectDeclared(op, answer);
      expect(answer.status).toBe(400);
    },
  );

  it.each(names(withoutBody))(
    'When %s, which takes no body, is sent malformed JSON, then the body is ignored and the answer declared',
    async (_id, op) => {
      const answer = await send(app, op, {
        headers: { 'content-type': 'application/json' },
        body: '{"unfinished": ',
      });
      expectDeclared(op, answer);
    },
  );
});

describe('refusals of the stability layer, for every operation', () => {
  let app: TestApp;
  beforeAll(async () => {
    // No slot and no queue: every request the layer sees is shed at once.
    app = await startTestApp({ stability: { concurrencyLimit: 0, bufferSize: 0 } });
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(names(operations))(
    'When the server is overloaded and %s is called, then the answer is declared (503 overloaded unless it bypasses the layer)',
    async (_id, op) => {
      const answer = await send(app, op, validBody(op));
      if (op.probe || op.eventStream) {
        expectDeclared(op, answer, ownAnswer(op));
      } else {
        expectDeclared(op, answer, { status: 503, code: 'system:overloaded' });
      }
    },
  );
});

describe('refusals while the session store is down, for every operation', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let cookie: string;
  beforeAll(async () => {
    redis = await createPrivateRedis();
    await redis.start();
    app = await startTestApp({ redis: { sessionUrl: redis.url } });
    const { user, password } = await createUser(app.deps);
    cookie = await signIn(app.baseUrl, { email: user.email, password: password! });
    await redis.stop();
    await eventually(() => app.deps.redis.session.status !== 'ready');
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it.each(names(operations))(
    'When %s is called with a session cookie, then the answer is declared (503 dependency_unavailable where it needs the store)',
    async (_id, op) => {
      const body = validBody(op);
      const answer = await send(app, op, { ...body, headers: { ...body.headers, cookie } });
      // A pending operation answers 501 without reading the session; its rate limit still runs.
      if ((op.sessionRequired && !op.pending) || op.rateLimited) {
        expectDeclared(op, answer, { status: 503, code: 'system:dependency_unavailable' });
      } else {
        expectDeclared(op, answer);
      }
    },
  );
});
