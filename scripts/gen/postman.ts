/**
 * Generates the Postman collection (v2.1) and the dev-stack environment in docs/postman/.
 *
 * openapi-to-postmanv2 converts the contract (one folder per tag, the contract's examples as
 * bodies); this file makes the result usable and reproducible:
 *
 * - "Sign in as alice" comes first: Postman's cookie jar keeps the session for every later
 *   request, and its script stores the user's id and handle for the parameters that need them;
 * - parameters naming the user, a session or a post read collection variables; every other
 *   value comes from the contract (example, default, first enum value), never from the
 *   converter's random faker, and a required parameter with none fails the generation;
 * - every request asserts that its status is one the contract declares for the operation;
 * - ids are derived from operation ids, so a regeneration is byte-identical and re-importing
 *   the file replaces the collection instead of adding a copy.
 *
 * Run alone with `node scripts/gen/postman.ts`; normally `npm run gen` runs it.
 */
import { readFile } from 'node:fs/promises';
import { convertV2 } from 'openapi-to-postmanv2';
import { v5 as uuidv5 } from 'uuid';
import { parse } from 'yaml';
import { DEV_PASSWORD, devUsers } from '../../seeds/data/dev-users.ts';
import {
  ContractError,
  contractPath,
  formatGenerated,
  loadContract,
  writeGenerated,
} from './types.ts';
import type { Contract, GeneratedFile, OperationInfo } from './types.ts';

export const POSTMAN_COLLECTION_FILE = 'docs/postman/expresskit.postman_collection.json';
export const POSTMAN_ENVIRONMENT_FILE = 'docs/postman/expresskit-dev.postman_environment.json';

type Json = Record<string, unknown>;

interface PostmanVariable {
  key: string;
  value: string;
  description?: string;
  disabled?: boolean;
}

interface PostmanScript {
  listen: 'test' | 'prerequest';
  script: { type: 'text/javascript'; exec: string[] };
}

interface PostmanRequest {
  method: string;
  url: { path: string[]; host: string[]; query: PostmanVariable[]; variable: PostmanVariable[] };
  header: PostmanVariable[];
  body?: Json;
  description?: unknown;
  auth?: unknown;
  name?: string;
}

interface PostmanResponse {
  id?: string;
  name: string;
  code: number;
  originalRequest?: unknown;
  header?: PostmanVariable[];
  [key: string]: unknown;
}

interface PostmanItem {
  id?: string;
  name: string;
  description?: unknown;
  item?: PostmanItem[];
  request?: PostmanRequest;
  response?: PostmanResponse[];
  event?: PostmanScript[];
  [key: string]: unknown;
}

interface PostmanCollection {
  info: Json;
  item: PostmanItem[];
  event?: PostmanScript[];
  variable?: PostmanVariable[];
}

const [alice] = devUsers;
if (!alice) throw new Error('seeds/data/dev-users.ts lists no user');

/** Stands for "no such record yet" where a valid id is needed: it matches nothing. */
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The values requests take from the signed-in user or the data made for it. The scripts fill
 * the ids; until then each holds a well-formed id of nothing, which answers a 404.
 */
const VARIABLES: PostmanVariable[] = [
  { key: 'email', value: alice.email, description: 'Who "Sign in as alice" signs in.' },
  { key: 'password', value: DEV_PASSWORD, description: 'The password of `email`.' },
  {
    key: 'handle',
    value: alice.handle,
    description: 'The signed-in user\'s handle; "Sign in as alice" sets it.',
  },
  {
    key: 'userId',
    value: NIL_UUID,
    description: 'The signed-in user\'s id; "Sign in as alice" sets it.',
  },
  {
    key: 'sessionId',
    value: 'none',
    description:
      'Public id of another session of the signed-in user; "List the signed-in user\'s sessions" sets it when there is one.',
  },
  {
    key: 'postId',
    value: NIL_UUID,
    description: 'The post the post requests read, edit and delete; "Create a post" sets it.',
  },
];

/** Parameters bound to a variable: `<path> <name>` first, then `<in> <name>`. */
const BOUND_PARAMETERS = new Map<string, string>([
  ['/v0/auth/sessions/{id} id', '{{sessionId}}'],
  ['/v0/posts/{id} id', '{{postId}}'],
  ['path handle', '{{handle}}'],
  ['query handle', '{{handle}}'],
  ['query user_id', '{{userId}}'],
  ['query author_id', '{{userId}}'],
  ['query actor_id', '{{userId}}'],
]);

/**
 * Whether a collection item asks for a text/event-stream, which stays open until the client
 * leaves: a runner that waits for each answer to end (newman) must leave such items out and
 * exercise them separately.
 */
export function isEventStreamItem(item: {
  request?: { header?: { key: string; value: string }[] };
}): boolean {
  return (item.request?.header ?? []).some(
    (header) => header.key.toLowerCase() === 'accept' && header.value === 'text/event-stream',
  );
}

/** Ends the session every later request relies on, so the runner reaches it last. */
const SESSION_ENDING_OPERATION = 'logout';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRef(document: Json, value: unknown): Json {
  if (!isObject(value) || typeof value.$ref !== 'string') return isObject(value) ? value : {};
  let target: unknown = document;
  for (const part of value.$ref.replace(/^#\//, '').split('/')) {
    target = isObject(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return isObject(target) ? target : {};
}

function contractValue(parameter: Json, schema: Json): unknown {
  if (parameter.example !== undefined) return parameter.example;
  if (isObject(parameter.examples)) {
    const first = Object.values(parameter.examples)[0];
    if (isObject(first)) return first.value;
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  return undefined;
}

/**
 * The document handed to the converter: each operation's parameters resolved and given the
 * value the collection should carry as their example, so the converter fakes none of them.
 */
function documentForConversion(document: Json, contract: Contract, problems: string[]): Json {
  const copy = structuredClone(document);
  const paths = isObject(copy.paths) ? copy.paths : {};
  for (const op of contract.operations) {
    const pathItem = paths[op.path];
    const operation = isObject(pathItem) ? pathItem[op.method] : undefined;
    if (!isObject(operation) || !Array.isArray(operation.parameters)) continue;
    operation.parameters = operation.parameters.map((entry: unknown) => {
      const parameter = structuredClone(resolveRef(copy, entry));
      const schema = resolveRef(copy, parameter.schema);
      const name = String(parameter.name);
      const bound =
        BOUND_PARAMETERS.get(`${op.path} ${name}`) ??
        BOUND_PARAMETERS.get(`${String(parameter.in)} ${name}`);
      const value = bound ?? contractValue(parameter, schema);
      if (value === undefined && parameter.required === true) {
        problems.push(
          `${op.operationId} parameter ${name} has no example, default or enum for the Postman ` +
            'collection (add an example, or bind it in scripts/gen/postman.ts)',
        );
      }
      delete parameter.examples;
      return { ...parameter, example: value ?? '' };
    });
  }
  return copy;
}

function convert(document: Json): Promise<PostmanCollection> {
  return new Promise((resolve, reject) => {
    convertV2(
      { type: 'json', data: document },
      {
        folderStrategy: 'Tags',
        requestNameSource: 'Fallback',
        parametersResolution: 'Example',
        schemaFaker: false,
        enableOptionalParameters: false,
        includeAuthInfoInExample: false,
      },
      (error, result) => {
        const data = result?.output?.[0]?.data;
        if (error || !result?.result || !data) {
          reject(
            new Error(`openapi-to-postmanv2: ${error?.message ?? result?.reason ?? 'no output'}`),
          );
        } else {
          resolve(data as PostmanCollection);
        }
      },
    );
  });
}

function templateOf(request: PostmanRequest): string {
  return `/${request.url.path.map((part) => part.replace(/^:(.+)$/, '{$1}')).join('/')}`;
}

function testScript(lines: string[]): PostmanScript {
  return { listen: 'test', script: { type: 'text/javascript', exec: lines } };
}

function declaredStatuses(document: Json, op: OperationInfo): number[] {
  const paths = isObject(document.paths) ? document.paths : {};
  const pathItem = paths[op.path];
  const operation = isObject(pathItem) ? pathItem[op.method] : undefined;
  const responses = isObject(operation) && isObject(operation.responses) ? operation.responses : {};
  return Object.keys(responses)
    .map(Number)
    .sort((a, b) => a - b);
}

function statusCheck(op: OperationInfo, statuses: number[]): string[] {
  return [
    `pm.test('${op.operationId} answers a status the contract declares', function () {`,
    `  pm.expect(pm.response.code).to.be.oneOf(${JSON.stringify(statuses)});`,
    '});',
  ];
}

const SCRIPTS: Partial<Record<string, string[]>> = {
  createPost: [
    '// The new post is the one "Get a post", "Edit a post" and "Delete a post" work on.',
    "if (pm.response.code === 201) pm.collectionVariables.set('postId', pm.response.json().id);",
  ],
  listSessions: [
    '// Another session of this user, for "Revoke one of the signed-in user\'s sessions".',
    'if (pm.response.code === 200) {',
    '  var other = pm.response.json().sessions.find(function (session) {',
    '    return !session.is_current;',
    '  });',
    "  if (other) pm.collectionVariables.set('sessionId', other.id);",
    '}',
  ],
};

const SIGN_IN_SCRIPT = [
  "pm.test('signed in', function () {",
  '  pm.response.to.have.status(204);',
  '});',
  "// The session cookie is in the jar now; the user's id and handle fill later parameters.",
  'pm.sendRequest(',
  "  { url: pm.variables.replaceIn('{{baseUrl}}/v0/user/me'), method: 'GET' },",
  '  function (error, response) {',
  '    if (error || response.code !== 200) return;',
  '    var me = response.json();',
  "    pm.collectionVariables.set('userId', me.id);",
  "    pm.collectionVariables.set('handle', me.handle);",
  '  }',
  ');',
];

function signInRequest(login: PostmanItem, id: string): PostmanItem {
  const request = structuredClone(login.request!);
  request.name = 'Sign in as alice';
  request.body = {
    mode: 'raw',
    raw: JSON.stringify({ email: '{{email}}', password: '{{password}}' }, null, 2),
    options: { raw: { headerFamily: 'json', language: 'json' } },
  };
  request.description = {
    type: 'text/markdown',
    content:
      'Run this first. It signs in as `{{email}}` (alice, seeded by the dev stack), and ' +
      "Postman's cookie jar sends the session cookie with every later request. Its script " +
      "stores the user's id and handle in the `userId` and `handle` variables.",
  };
  return {
    id,
    name: 'Sign in as alice',
    request,
    response: [],
    event: [testScript(SIGN_IN_SCRIPT)],
  };
}

/** The collection as committed: converted, then bound, checked, reordered and given stable ids. */
async function buildCollection(document: Json, contract: Contract): Promise<PostmanCollection> {
  const problems: string[] = [];
  const converted = await convert(documentForConversion(document, contract, problems));
  const title = String(isObject(document.info) ? document.info.title : 'API');
  const stableId = (key: string) => uuidv5(`${title}/${key}`, uuidv5.URL);

  const byRoute = new Map(contract.operations.map((op) => [`${op.method} ${op.path}`, op]));
  let login: PostmanItem | undefined;
  let sessionEnding: { item: PostmanItem; folder: string } | undefined;
  const folders: PostmanItem[] = [];
  for (const folder of converted.item) {
    const requests: PostmanItem[] = [];
    for (const item of folder.item ?? []) {
      const request = item.request!;
      const op = byRoute.get(`${request.method.toLowerCase()} ${templateOf(request)}`);
      if (!op) {
        problems.push(
          `the converter produced ${request.method} ${templateOf(request)}, no operation`,
        );
        continue;
      }
      const statuses = declaredStatuses(document, op);
      const finished: PostmanItem = {
        ...item,
        id: stableId(op.operationId),
        // Success examples only: every error has the one shape the description documents,
        // and a copy per status and operation would bury the useful ones.
        response: (item.response ?? [])
          .filter((response) => response.code >= 200 && response.code < 300)
          .map(({ originalRequest: _request, ...response }) => ({
            ...response,
            id: stableId(`${op.operationId}/${response.code}/${response.name}`),
          })),
        event: [testScript([...statusCheck(op, statuses), ...(SCRIPTS[op.operationId] ?? [])])],
      };
      if (op.operationId === 'login') login = finished;
      if (op.operationId === SESSION_ENDING_OPERATION) {
        sessionEnding = { item: finished, folder: folder.name };
      } else {
        requests.push(finished);
      }
    }
    folders.push({ ...folder, id: stableId(`tag/${folder.name}`), item: requests });
  }
  const baseUrl = converted.variable?.find((variable) => variable.key === 'baseUrl')?.value;
  if (!baseUrl) problems.push('the contract lists no server for the baseUrl variable');
  if (!login) problems.push('the contract has no login operation to sign in with');
  if (problems.length > 0) throw new ContractError(problems);

  if (sessionEnding) {
    const { item, folder } = sessionEnding;
    const index = folders.findIndex((candidate) => candidate.name === folder);
    const [holder] = folders.splice(index, 1);
    folders.push({ ...holder!, item: [...(holder!.item ?? []), item] });
  }

  return {
    info: {
      _postman_id: stableId('collection'),
      name: title,
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
      description: {
        type: 'text/markdown',
        content: [
          `Generated from \`openapi.yaml\` by \`npm run gen\`; do not edit by hand.`,
          '',
          'Start the dev stack (`bash scripts/dev.sh`), import this collection and',
          '`expresskit-dev.postman_environment.json`, and send **Sign in as alice** first: the',
          'cookie jar then carries the session into every other request. The collection runner',
          'runs the folders in order and ends with **Log out**. An event-stream request stays',
          'open until you cancel it, so send it on its own rather than in a collection run.',
          '',
          isObject(document.info) && typeof document.info.description === 'string'
            ? document.info.description
            : '',
        ].join('\n'),
      },
    },
    item: [signInRequest(login!, stableId('sign-in')), ...folders],
    variable: [
      {
        key: 'baseUrl',
        value: baseUrl!,
        description: 'Where the API listens; the environment overrides it.',
      },
      ...VARIABLES,
    ],
  };
}

function buildEnvironment(collection: PostmanCollection): Json {
  const name = `${String(collection.info.name)} — dev stack`;
  const pick = (key: string) => collection.variable?.find((variable) => variable.key === key);
  return {
    id: uuidv5(`${name}/environment`, uuidv5.URL),
    name,
    values: (['baseUrl', 'email', 'password'] as const).map((key) => ({
      key,
      value: pick(key)?.value ?? '',
      type: key === 'password' ? 'secret' : 'default',
      enabled: true,
    })),
    _postman_variable_scope: 'environment',
  };
}

export async function generatePostman(contract: Contract): Promise<GeneratedFile[]> {
  const document = parse(await readFile(contractPath, 'utf8')) as Json;
  const collection = await buildCollection(document, contract);
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return [
    {
      path: POSTMAN_COLLECTION_FILE,
      content: await formatGenerated(json(collection), POSTMAN_COLLECTION_FILE),
    },
    {
      path: POSTMAN_ENVIRONMENT_FILE,
      content: await formatGenerated(json(buildEnvironment(collection)), POSTMAN_ENVIRONMENT_FILE),
    },
  ];
}

if (import.meta.main) {
  const files = await generatePostman(await loadContract());
  await writeGenerated(files);
  for (const file of files) console.log(`wrote ${file.path}`);
}
