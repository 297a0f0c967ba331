/**
 * Generates what the typed client package (client/) needs from the contract:
 *
 * - client/src/generated/openapi.ts: the server's openapi-typescript output, byte for byte, so
 *   server and client compile against one generation of the contract;
 * - client/src/generated/contract.ts: what openapi-typescript does not carry: each operation's
 *   error codes (`x-error-codes`) and each code's status (`x-error-statuses`), which operation a
 *   path and method are, and the operations whose shape needs a helper beyond openapi-fetch
 *   (a multipart/form-data body, a text/event-stream reply with its `x-events`).
 *
 * Run alone with `node scripts/gen/client.ts`; normally `npm run gen` runs it.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import {
  ContractError,
  contractPath,
  formatGenerated,
  GENERATED_HEADER,
  generateTypes,
  loadContract,
  writeGenerated,
} from './types.ts';
import type { Contract, GeneratedFile, OperationInfo } from './types.ts';

const SERVER_TYPES_FILE = 'src/generated/openapi.ts';
const CLIENT_TYPES_FILE = 'client/src/generated/openapi.ts';
const CLIENT_CONTRACT_FILE = 'client/src/generated/contract.ts';

const SCHEMA_REF_PREFIX = '#/components/schemas/';
const MULTIPART = 'multipart/form-data';
const EVENT_STREAM = 'text/event-stream';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface MultipartOperation {
  operation: OperationInfo;
  /** Body fields that carry bytes (`format: binary` or `contentMediaType`), alone or as a list. */
  files: string[];
}

interface EventStreamOperation {
  operation: OperationInfo;
  /** Event name → the component schema of its JSON data. */
  events: Map<string, string>;
}

/** Shapes the client needs, read from the raw document (loadContract keeps no bodies). */
export interface Shapes {
  multipart: MultipartOperation[];
  eventStreams: EventStreamOperation[];
}

function isBinary(schema: Json): boolean {
  return schema.format === 'binary' || typeof schema.contentMediaType === 'string';
}

export function readShapes(document: Json, contract: Contract): Shapes {
  const problems: string[] = [];
  const components = isObject(document.components) ? document.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const paths = isObject(document.paths) ? document.paths : {};
  const resolve = (schema: unknown): Json => {
    if (isObject(schema) && typeof schema.$ref === 'string') {
      const target = schemas[schema.$ref.slice(SCHEMA_REF_PREFIX.length)];
      return isObject(target) ? target : {};
    }
    return isObject(schema) ? schema : {};
  };

  const shapes: Shapes = { multipart: [], eventStreams: [] };
  for (const operation of contract.operations) {
    const pathItem = paths[operation.path];
    const raw = isObject(pathItem) ? pathItem[operation.method] : undefined;
    if (!isObject(raw)) continue;

    const body = isObject(raw.requestBody) ? raw.requestBody : {};
    const bodyContent = isObject(body.content) ? body.content : {};
    const multipart = bodyContent[MULTIPART];
    if (isObject(multipart)) {
      const schema = resolve(multipart.schema);
      const properties = isObject(schema.properties) ? schema.properties : undefined;
      if (schema.type !== 'object' || !properties) {
        problems.push(`${operation.operationId} has a multipart body that is not an object schema`);
      } else {
        const files = Object.entries(properties)
          .filter(([, property]) => {
            const field = resolve(property);
            return isBinary(field) || (field.type === 'array' && isBinary(resolve(field.items)));
          })
          .map(([name]) => name);
        shapes.multipart.push({ operation, files });
      }
    }

    const responses = isObject(raw.responses) ? raw.responses : {};
    for (const [status, response] of Object.entries(responses)) {
      const content = isObject(response) && isObject(response.content) ? response.content : {};
      const stream = content[EVENT_STREAM];
      if (!status.startsWith('2') || !isObject(stream)) continue;
      const events = new Map<string, string>();
      const declared = isObject(stream['x-events']) ? stream['x-events'] : {};
      for (const [name, schema] of Object.entries(declared)) {
        const ref = isObject(schema) ? schema.$ref : undefined;
        if (typeof ref === 'string' && ref.startsWith(SCHEMA_REF_PREFIX)) {
          events.set(name, ref.slice(SCHEMA_REF_PREFIX.length));
        } else {
          // openapi-typescript has already typed every component schema; an inline one would
          // need a second code generator.
          problems.push(
            `${operation.operationId} event ${name} must $ref a schema in components.schemas`,
          );
        }
      }
      if (events.size === 0) {
        problems.push(`${operation.operationId} answers ${EVENT_STREAM} without x-events`);
      }
      shapes.eventStreams.push({ operation, events });
    }
  }
  if (problems.length > 0) throw new ContractError(problems);
  return shapes;
}

const q = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function union(values: string[]): string {
  return values.length === 0 ? 'never' : values.map(q).join(' | ');
}

function descriptor(op: OperationInfo, extra = ''): string {
  return `  ${op.operationId}: { method: ${q(op.method)}, path: ${q(op.path)}${extra} },`;
}

function contractModule(contract: Contract, shapes: Shapes): string {
  const byPath = new Map<string, OperationInfo[]>();
  for (const op of contract.operations) {
    byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);
  }
  const lines = [
    `// ${GENERATED_HEADER} (source: openapi.yaml)`,
    '',
    "import type { components } from './openapi.ts';",
    '',
    '/** The HTTP status of each error code (`x-error-statuses`). */',
    'export interface ErrorStatuses {',
    ...contract.errorCodes.map((code) => `  ${q(code)}: ${contract.errorStatuses.get(code)};`),
    '}',
    '',
    '/** The error codes each operation can answer with (`x-error-codes`). */',
    'export interface ErrorCodes {',
    ...contract.operations.map((op) => `  ${op.operationId}: ${union(op.errorCodes)};`),
    '}',
    '',
    '/** The operationId of each path and method. */',
    'export interface OperationIds {',
    ...[...byPath].map(
      ([path, ops]) =>
        `  ${q(path)}: { ${ops.map((op) => `${op.method}: ${q(op.operationId)}`).join('; ')} };`,
    ),
    '}',
    '',
    '/** Operations with a multipart/form-data body, and the body fields that carry files. */',
    'export const multipartOperations = {',
    ...shapes.multipart.map(({ operation, files }) =>
      descriptor(operation, `, files: [${files.map(q).join(', ')}]`),
    ),
    '} as const;',
    '',
    '/** Operations answering a text/event-stream, and the event names they send. */',
    'export const eventStreamOperations = {',
    ...shapes.eventStreams.map(({ operation, events }) =>
      descriptor(operation, `, events: [${[...events.keys()].map(q).join(', ')}]`),
    ),
    '} as const;',
    '',
    '/** The JSON data of each event an event stream sends, by event name (`x-events`). */',
    'export interface EventStreamEvents {',
    ...shapes.eventStreams.map(
      ({ operation, events }) =>
        `  ${operation.operationId}: { ${[...events]
          .map(([name, schema]) => `${q(name)}: components['schemas'][${q(schema)}]`)
          .join('; ')} };`,
    ),
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * `serverTypes` is the output of generateTypes: the client's copy of openapi.ts is taken from
 * it, not generated a second time.
 */
export async function generateClient(
  contract: Contract,
  serverTypes: GeneratedFile[],
): Promise<GeneratedFile[]> {
  const types = serverTypes.find((file) => file.path === SERVER_TYPES_FILE);
  if (!types) throw new Error(`generateTypes produced no ${SERVER_TYPES_FILE}`);
  const document: unknown = parse(await readFile(contractPath, 'utf8'));
  const shapes = readShapes(isObject(document) ? document : {}, contract);
  return [
    { path: CLIENT_TYPES_FILE, content: types.content },
    {
      path: CLIENT_CONTRACT_FILE,
      content: await formatGenerated(contractModule(contract, shapes), CLIENT_CONTRACT_FILE),
    },
  ];
}

if (import.meta.main) {
  const contract = await loadContract();
  const files = await generateClient(contract, await generateTypes(contract));
  await writeGenerated(files);
  for (const file of files) console.log(`wrote ${file.path}`);
}
