import fc from 'fast-check';
import { bodyMutations } from './body-mutations.ts';
import type { FuzzOperation } from './contract.ts';
import type { Draft } from './draft.ts';
import { parameterMutations } from './parameter-mutations.ts';
import { validDraft, type CaseContext } from './valid-drafts.ts';

export type { CaseContext } from './valid-drafts.ts';

/** One generated input of an operation and what the contract says of it. */
export interface FuzzCase {
  operation: FuzzOperation;
  /** What was done to a valid request (`valid` for none), for the failure report. */
  kind: string;
  /** The contract refuses this input: it must get a 4xx, and change nothing. */
  refused: boolean;
  draft: Draft;
}

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
      .map(([draft, mutate]) => {
        const { kind, draft: mutated, refused } = mutate(draft);
        return { operation, kind, refused: refused ?? false, draft: mutated };
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
    .filter((draft) => {
      const key = JSON.stringify(draft, (_, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
      );
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((draft) => ({ operation, kind: 'valid', refused: false, draft }));
}
