import fc from 'fast-check';
import { anyString } from './arbitraries.ts';
import type { Schema } from './contract.ts';

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels down: a parser's or a validator's recursion. */
export function deeplyNested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i += 1) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** The same as JSON text, at depths JSON.stringify cannot reach. */
export function deeplyNestedText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}0${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;
}

const wrongTypes = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant(2 ** 64),
  fc.string(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(deeplyNested(64, 'array'), deeplyNested(64, 'object')),
);

const badFormats: Record<string, fc.Arbitrary<string>> = {
  uuid: fc.oneof(
    fc.uuid().map((u) => u.toUpperCase().replace(/-/g, '')),
    fc.uuid().map((u) => `${u}0`),
    fc.uuid().map((u) => u.slice(1)),
    // The URN form: ajv-formats' own uuid takes it, PostgreSQL's uuid type does not.
    fc.uuid().map((u) => `urn:uuid:${u}`),
    fc.constantFrom('00000000-0000-0000-0000-00000000000g', 'null', 'undefined', '{id}', '*'),
  ),
  email: fc.constantFrom(
    'a',
    'a@',
    '@b.c',
    'a@@b.c',
    'a b@c.d',
    'a@b_c',
    `${'x'.repeat(250)}@e.io`,
  ),
  'date-time': fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '0', '2026-01-01'),
  uri: fc.constantFrom('not a uri', '://x', 'http//x'),
};

/** Strings that break a string schema: lengths just and far out of bounds, bad formats, patterns. */
function badStrings(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength as number | undefined;
  const max = schema.maxLength as number | undefined;
  const choices: fc.Arbitrary<string>[] = [anyString({ maxLength: 40 }), fc.constant('')];
  if (min !== undefined && min > 0) choices.push(anyString({ maxLength: min - 1 }));
  if (max !== undefined) {
    choices.push(fc.string({ minLength: max + 1, maxLength: max + 3 }));
    choices.push(fc.string({ minLength: max + 1, maxLength: max + 3, unit: 'binary' }));
    choices.push(fc.nat({ max: 20 }).map((n) => 'x'.repeat(max * 10 + 1000 * n)));
  }
  const format = schema.format as string | undefined;
  if (format && badFormats[format]) choices.push(badFormats[format]);
  if (Array.isArray(schema.enum)) {
    const values = schema.enum as unknown[];
    choices.push(fc.constantFrom(...values.map((v) => `${String(v).toUpperCase()} `)));
  }
  return fc.oneof(...choices);
}

/**
 * Values that may break the schema. Not every one does (a random string can match a loose
 * pattern): the caller keeps those the schema check refuses.
 */
export function invalidValue(raw: Schema, resolve: (s: Schema) => Schema): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  const types = new Set([schema.type].flat().filter(Boolean) as string[]);
  const choices: fc.Arbitrary<unknown>[] = [wrongTypes];
  if (types.has('string') || Array.isArray(schema.enum)) choices.push(badStrings(schema));
  if (types.has('integer') || types.has('number')) {
    const min = schema.minimum as number | undefined;
    const max = schema.maximum as number | undefined;
    if (min !== undefined) choices.push(fc.constantFrom(min - 1, -(2 ** 53), min - 0.5));
    if (max !== undefined) choices.push(fc.constantFrom(max + 1, 2 ** 53, max + 0.5, 1e308));
    if (types.has('integer')) choices.push(fc.constantFrom(1.5, -0.25));
  }
  return fc.oneof(...choices);
}

/** A parameter's raw query, path or header string that may break its schema. */
export function invalidParameterString(
  raw: Schema,
  resolve: (s: Schema) => Schema,
): fc.Arbitrary<string> {
  return fc.oneof(
    invalidValue(raw, resolve).map((value) =>
      typeof value === 'string' ? value : JSON.stringify(value),
    ),
    fc.constantFrom('1e3', '0x10', ' 1', '1 ', '-0', 'NaN', 'Infinity', '[]', '{}', 'true'),
  );
}
