import fc from 'fast-check';
import { bodyMutations } from './body-mutations.ts';
import type { FuzzOperation } from './contract.ts';
import type { Draft } from './draft.ts';
import { parameterMutations } from './parameter-mutations.ts';
import { validDraft, type CaseContext } from './valid-drafts.ts';

export type { CaseContext } from './valid-drafts.ts';

/**
 * What the contract says of an input. `valid`: its shape is accepted, so no layer in front of
 * the handler may refuse it. `open`: the contract does not decide (a duplicated query key,
 * invalid UTF-8 in a string), any answer it allows will do. The others are refused, must get
 * a 4xx and change nothing, and say who refuses them: the shape checks (body parsers, upload
 * reader, validator), requireSession, or the router (no operation has this path).
 */
export type Expectation = 'valid' | 'open' | 'shape' | 'session' | 'route';

/** One generated input of an operation and what the contract says of it. */
export interface FuzzCase {
  operation: FuzzOperation;
  /** What was done to a valid request (`valid` for none), for the failure report. */
  kind: string;
  expect: Expectation;
  /** The one code the kit answers this refusal with, where a single one fits. */
  code?: string;
  /** A path parameter was fuzzed, possibly out of its template: the router may miss. */
  pathMutated: boolean;
  /** Where the case comes from, to find it again: its seed and index in the sample. */
  origin: string;
  draft: Draft;
}

export const isRefused = (fuzz: FuzzCase) =>
  fuzz.expect === 'shape' || fuzz.expect === 'session' || fuzz.expect === 'route';

/**
 * `count` invalid requests of the operation, spread evenly over its mutations (so every
 * parameter and field gets its share), each applied to a fresh valid request.
 */
export function invalidCases(
  operation: FuzzOperation,
  context: CaseContext,
  count: number,
  seed: number,
): FuzzCase[] {
  const all = [...parameterMutations(operation, context), ...bodyMutations(operation, context)];
  const each = Math.max(1, Math.ceil(count / all.length));
  return all.flatMap((mutation, index) =>
    fc
      .sample(fc.tuple(validDraft(operation, context), mutation), {
        seed: seed + index,
        numRuns: each,
      })
      .map(([draft, mutate], run): FuzzCase => {
        const mutated = mutate(draft);
        return {
          operation,
          kind: mutated.kind,
          expect: mutated.refused ? (mutated.by ?? 'shape') : 'open',
          code: mutated.code,
          pathMutated: mutated.pathMutated ?? false,
          origin: `seed ${seed + index} #${run}`,
          draft: mutated.draft,
        };
      }),
  );
}

export function validCases(
  operation: FuzzOperation,
  context: CaseContext,
  count: number,
  seed: number,
): FuzzCase[] {
  // An operation with little to vary (no parameters, no body) yields the same request over
  // and over: it is sent once per distinct form.
  const seen = new Set<string>();
  return fc
    .sample(validDraft(operation, context), { seed, numRuns: count })
    .map((draft, run) => ({ draft, origin: `seed ${seed} #${run}` }))
    .filter(({ draft }) => {
      const key = JSON.stringify(draft, (_, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
      );
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map(({ draft, origin }) => ({
      operation,
      kind: 'valid',
      expect: 'valid',
      pathMutated: false,
      origin,
      draft,
    }));
}
