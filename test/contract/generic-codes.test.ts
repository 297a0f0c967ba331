import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ContractError, contractPath, loadContract } from '../../scripts/gen/types.ts';

type Document = { paths: Record<string, Record<string, Record<string, unknown>>> };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'generic-codes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The problems generation reports for openapi.yaml after `edit`. */
async function problemsAfter(edit: (document: Document) => void): Promise<string[]> {
  const document = parse(await readFile(contractPath, 'utf8')) as Document;
  edit(document);
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(document));
  const failure = await loadContract(file).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(ContractError);
  return (failure as ContractError).problems;
}

function withoutCode(operation: Record<string, unknown> | undefined, code: string): void {
  const codes = operation?.['x-error-codes'] as string[];
  codes.splice(codes.indexOf(code), 1);
}

describe('codes that follow from an operation’s shape', () => {
  it('When an operation without input omits the validation code, then generation names it and why', async () => {
    const problems = await problemsAfter((document) => {
      withoutCode(document.paths['/v0/user/me']?.get, 'general:validation_error');
    });
    expect(problems).toContainEqual(
      expect.stringMatching(/^getMe does not list general:validation_error, .*unknown query/),
    );
  });

  it('When a new operation with a JSON body lists no codes, then generation names each one it needs', async () => {
    const problems = await problemsAfter((document) => {
      document.paths['/v0/things'] = {
        post: {
          tags: ['Posts'],
          operationId: 'createThing',
          summary: 'Create a thing',
          security: [{ sessionCookie: [] }],
          'x-error-codes': [],
          requestBody: {
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          responses: { '201': { description: 'Created.' } },
        },
      };
    });
    const missing = problems
      .filter((problem) => problem.startsWith('createThing does not list '))
      .map((problem) => problem.split(' ')[4]?.replace(/,$/, ''));
    expect(missing.sort()).toEqual([
      'auth:session_expired',
      'auth:unauthorized',
      'general:bad_request',
      'general:payload_too_large',
      'general:unsupported_media_type',
      'general:validation_error',
      'system:database_error',
      'system:dependency_unavailable',
      'system:internal_error',
      'system:overloaded',
      'system:timeout',
    ]);
  });

  it('When a listed code has no response for its status, then generation refuses the contract', async () => {
    const problems = await problemsAfter((document) => {
      const responses = document.paths['/v0/user/me']?.get?.responses as Record<string, unknown>;
      delete responses['400'];
    });
    expect(problems).toEqual([
      'getMe lists general:validation_error but documents no 400 response',
    ]);
  });
});
