import fc from 'fast-check';
import type { FuzzOperation } from './contract.ts';
import { clone, type Caller, type Draft, type Mutation } from './draft.ts';
import { invalidParameterString } from './invalid-values.ts';
import { headerSafe, percentEncode } from './request.ts';
import { parameterValue, type CaseContext } from './valid-drafts.ts';

/** Percent-encodings that decode to nothing valid: truncated, not hex, not UTF-8, NUL. */
const BROKEN_PERCENT_ENCODINGS = ['%', '%ZZ', '%FF', '%C3%28', '%ED%A0%80', '%00', '%E2%82'];

/**
 * Node answers 431 itself, before the app, to a request line and headers over 16 KiB: a
 * transport limit (the hostile-transport scenario's), not the contract's. Parameters stay
 * well under it.
 */
const fitsRequestHead = (value: string) => percentEncode(value).length <= 4096;

/** Each way to break a request's parameters, one per parameter, and its caller. */
export function parameterMutations(
  operation: FuzzOperation,
  context: CaseContext,
): fc.Arbitrary<(d: Draft) => Mutation>[] {
  const { check, contract } = context;
  const list: fc.Arbitrary<(d: Draft) => Mutation>[] = [];
  const validated = !operation.probe;

  for (const parameter of operation.parameters) {
    list.push(
      invalidParameterString(parameter.schema, contract.resolve)
        .filter((raw) => fitsRequestHead(raw) && !(parameter.in === 'path' && raw === ''))
        .map((raw) => (draft: Draft) => {
          const value = parameter.in === 'header' ? headerSafe(raw) : raw;
          const next = clone(draft);
          if (parameter.in === 'path') next.pathParams[parameter.name] = value;
          if (parameter.in === 'header') next.headers[parameter.name] = value;
          if (parameter.in === 'query') {
            next.query = next.query.filter((e) => e.name !== parameter.name);
            next.query.push({ name: parameter.name, value });
          }
          const broken = check.parameterErrors(parameter.schema, value).length > 0;
          return {
            kind: `${parameter.in}.${parameter.name} = ${JSON.stringify(value).slice(0, 60)}`,
            draft: next,
            refused: broken,
            pathMutated: parameter.in === 'path',
          };
        }),
    );
    if (parameter.required && parameter.in !== 'path') {
      list.push(
        fc.constant((draft: Draft) => {
          const next = clone(draft);
          next.query = next.query.filter((e) => e.name !== parameter.name);
          delete next.headers[parameter.name];
          return { kind: `missing ${parameter.in}.${parameter.name}`, draft: next, refused: true };
        }),
      );
    }
    if (parameter.in === 'query') {
      // Node's query parser makes an array of a repeated key; the contract names no arrays.
      list.push(
        fc
          .tuple(parameterValue(parameter, context), parameterValue(parameter, context))
          .map(([a, b]) => (draft: Draft) => {
            const next = clone(draft);
            next.query = next.query.filter((e) => e.name !== parameter.name);
            next.query.push({ name: parameter.name, value: a }, { name: parameter.name, value: b });
            return { kind: `duplicated query.${parameter.name}`, draft: next };
          }),
      );
    }
    if (parameter.in === 'path') {
      list.push(
        fc.constantFrom(...BROKEN_PERCENT_ENCODINGS).map((junk) => (draft: Draft) => {
          const next = clone(draft);
          next.pathParams[parameter.name] = junk;
          next.rawPathParams = [parameter.name];
          return {
            kind: `path.${parameter.name} percent-encoding ${junk}`,
            draft: next,
            pathMutated: true,
          };
        }),
      );
    }
    if (parameter.in === 'query') {
      list.push(
        fc.constantFrom(...BROKEN_PERCENT_ENCODINGS).map((junk) => (draft: Draft) => {
          const next = clone(draft);
          next.query = next.query.filter((e) => e.name !== parameter.name);
          next.query.push({ name: parameter.name, value: junk, raw: true });
          return { kind: `query.${parameter.name} percent-encoding ${junk}`, draft: next };
        }),
      );
    }
  }
  list.push(
    fc
      .tuple(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 12 }),
          fc.constantFrom('__proto__', 'toString', 'constructor', 'hasOwnProperty', 'a[b]'),
        ),
        fc.string({ maxLength: 12 }),
      )
      .map(([name, value]) => (draft: Draft) => {
        const next = clone(draft);
        // Any other name is unknown: `__proto__` and `toString` are ordinary keys to the
        // simple query parser, and a bracketed key is refused ahead of the validator.
        const known = operation.parameters.some((p) => p.in === 'query' && p.name === name);
        next.query.push({ name, value });
        return {
          kind: `unknown query ${JSON.stringify(name)}`,
          draft: next,
          refused: validated && !known,
          code: 'general:validation_error',
        };
      }),
  );

  if (operation.needsSession) {
    list.push(
      fc.constantFrom<Caller>('anonymous', 'forged').map((caller) => (draft: Draft) => ({
        kind: `caller ${caller}`,
        draft: { ...clone(draft), caller },
        refused: true,
        by: 'session' as const,
      })),
    );
  }
  return list;
}
