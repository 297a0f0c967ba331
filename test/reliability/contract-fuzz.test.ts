import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  invalidCases,
  isRefused,
  validCases,
  type CaseContext,
  type FuzzCase,
} from './support/fuzz/cases.ts';
import { loadFuzzContract, type FuzzOperation } from './support/fuzz/contract.ts';
import { createFuzzWorld, type FuzzWorld } from './support/fuzz/fixtures.ts';
import { createRunner } from './support/fuzz/runner.ts';
import { createSchemaCheck } from '../support/contract-schema-check.ts';
import { fuzzSeed, soak } from './support/mode.ts';
import { startServerProcess, type KitProcess } from './support/processes.ts';
import { recordScenario } from './support/report.ts';
import { startGoogleProvider, type GoogleProvider } from '../oauth/support/google-provider.ts';

// The soak mode sends five times as many, which takes longer than the suite's test timeout.
const scale = soak ? 5 : 1;
const SOAK_TIMEOUT_MS = soak ? 900_000 : undefined;
const INVALID_PER_OPERATION = 50 * scale;
const VALID_PER_OPERATION = 20 * scale;
// Valid requests of rate-limited operations hash passwords or queue mails: fewer of them.
const VALID_PER_LIMITED_OPERATION = 6 * scale;
const UNROUTED = 120 * scale;

/** Requests no operation matches: other methods on the contract's paths, and unknown paths. */
function unroutedCases(contract: ReturnType<typeof loadFuzzContract>, seed: number): FuzzCase[] {
  const unrouted: FuzzOperation = {
    operationId: '(no operation)',
    method: 'get',
    path: '',
    parameters: [],
    body: undefined,
    needsSession: false,
    rateLimited: false,
    probe: false,
    errorCodes: new Set(['general:not_found', 'general:method_not_allowed']),
    responses: new Map(),
    mutates: false,
  };
  const paths = [...new Set(contract.operations.map((op) => op.path))];
  const templates = paths.map((path) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`));
  const methodsOf = (path: string) =>
    new Set(contract.operations.filter((op) => op.path === path).map((op) => op.method));
  const arbitrary = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...paths),
        fc.constantFrom<FuzzOperation['method']>('get', 'post', 'put', 'patch', 'delete'),
      )
      .filter(([path, method]) => !methodsOf(path).has(method)),
    fc
      .tuple(
        fc.webPath().map((p) => `/v0${p}`),
        fc.constantFrom<FuzzOperation['method']>('get', 'post', 'delete'),
      )
      .filter(([path]) => !templates.some((template) => template.test(path))),
  );
  return fc.sample(arbitrary, { seed, numRuns: UNROUTED }).map(([path, method], run) => ({
    operation: {
      ...unrouted,
      method,
      path: path.replace(/[{}]/g, ''),
    },
    kind: 'unrouted',
    expect: 'route',
    pathMutated: true,
    origin: `seed ${seed} #${run}`,
    draft: { pathParams: {}, query: [], headers: {}, body: undefined, caller: 'anonymous' },
  }));
}

describe('contract fuzzer', () => {
  let server: KitProcess | undefined;
  let world: FuzzWorld | undefined;
  let serverExited = false;
  let google: GoogleProvider | undefined;

  beforeAll(async () => {
    // Google sign-in is configured against a real local OAuth2 server, so the OAuth
    // operations run past "provider not enabled"; GitHub stays unconfigured, a path of its own.
    google = await startGoogleProvider();
    server = await startServerProcess({
      name: 'fuzz-server',
      env: {
        ...google.env,
        // Each request gets its own X-Forwarded-For, so per-IP limits see many clients.
        TRUST_PROXY: 'loopback',
        // The jobs the fuzzer's requests queue (mails to made-up addresses, index jobs of rows
        // it deletes) stay in the outbox, which it empties afterwards: they must not reach
        // the workers of the scenarios that run after it.
        OUTBOX_RELAY_INTERVAL_MS: '3600000',
      },
    });
    void server.exited.then(() => (serverExited = true));
    world = await createFuzzWorld(server.url, process.env);
  });

  afterAll(async () => {
    await world?.cleanUp();
    await server?.stop();
    await google?.close();
  });

  it(
    'When every operation gets thousands of valid and invalid requests, then each answer is one the contract allows and refusals store nothing',
    async () => {
      const seed = fuzzSeed();
      const contract = loadFuzzContract();
      const check = createSchemaCheck(contract.document);
      const images = world!.images;
      const context: CaseContext = {
        contract,
        check,
        values: {
          resolve: contract.resolve,
          realValuesFor: (schema) =>
            world!.realValues.filter((value) => check.errors(schema, value).length === 0),
          binary: fc.constantFrom(...images),
        },
      };
      process.stdout.write(`contract fuzzer seed ${seed} (replay with RELIABILITY_SEED=${seed})\n`);
      const runner = createRunner(contract, check, world!, server!.url);
      const started = Date.now();
      const phases: string[] = [];
      try {
        // Deletions last, both their refusals and their valid requests: the other operations'
        // requests still find the posts and images they target. Within each group refusals
        // come first, while the fuzz user's rows are as the fixtures made them.
        const indexed = [...contract.operations.entries()];
        const groups = [
          indexed.filter(([, op]) => op.method !== 'delete'),
          indexed.filter(([, op]) => op.method === 'delete'),
        ];
        for (const group of groups) {
          for (const [index, operation] of group) {
            await world!.resetLimits();
            const cases = invalidCases(
              operation,
              context,
              INVALID_PER_OPERATION,
              seed + index * 7919,
            );
            await runner.refusedBatch(cases.filter(isRefused));
            await runner.openBatch(cases.filter((c) => !isRefused(c)));
          }
          phases.push(`invalid ${((Date.now() - started) / 1000).toFixed(1)} s`);
          for (const [index, operation] of group) {
            await world!.resetLimits();
            const count = operation.rateLimited ? VALID_PER_LIMITED_OPERATION : VALID_PER_OPERATION;
            const cases = validCases(operation, context, count, seed + 104_729 + index);
            if (operation.mutates) await runner.serialMutations(cases);
            else await runner.openBatch(cases);
          }
          phases.push(`valid ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        await runner.refusedBatch(unroutedCases(contract, seed));
      } finally {
        runner.close();
      }
      const { tally } = runner;

      const rows = [...tally.byOperation].map(
        ([id, c]) =>
          `  ${id.padEnd(28)} ${String(c.valid).padStart(5)} valid (${String(c.reached).padStart(3)} reached) ${String(c.invalid).padStart(5)} invalid, slowest ${c.slowestMs.toFixed(0).padStart(5)} ms, answers ${[
            ...c.statuses,
          ]
            .sort(([a], [b]) => a - b)
            .map(([status, n]) => `${status}×${n}`)
            .join(' ')}`,
      );
      process.stdout.write(
        `contract fuzzer: ${tally.sent} requests over ${tally.byOperation.size} operations in ${((Date.now() - started) / 1000).toFixed(1)} s (${phases.join(', ')}), seed ${seed}\n${rows.join('\n')}\n`,
      );
      // Sent is not enough: an operation whose every valid request is refused in front of its
      // handler (by the validator, the session check, a spent limit) had its handler untested.
      const covered = contract.operations.filter(
        (op) => (tally.byOperation.get(op.operationId)?.reached ?? 0) > 0,
      );
      recordScenario({
        scenario: 'contract fuzzer',
        requests: tally.sent,
        faults: 'generated invalid input',
        unexpected5xx: tally.unexpected5xx,
        lost: tally.changedByRefused,
        notes: `seed ${seed}; ${covered.length}/${contract.operations.length} operations reached; ${tally.failures.length} contract violations`,
      });

      expect(serverExited).toBe(false);
      expect(
        contract.operations.filter((op) => !covered.includes(op)).map((op) => op.operationId),
      ).toEqual([]);
      expect(tally.failures.slice(0, 25)).toEqual([]);
    },
    SOAK_TIMEOUT_MS,
  );
});
