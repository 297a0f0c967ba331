import fc from 'fast-check';
import type { Schema } from './contract.ts';

/** Strings a parser, a database or a log line tends to trip on, all valid UTF-16 or not. */
const unusualUnicode = fc.constantFrom(
  '\u0000',
  '\u200B',
  '\u200D',
  '\u202E',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '\u0301\u0301\u0301',
  '\u{1F600}',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  '\u{10FFFF}',
  '\u00A0',
  '\u2028',
  '\r\n',
  'İ',
  'ß',
  'ﷺ',
  "'; --",
  '%00',
  '../',
);

/** Any string: printable, any code point, or sprinkled with the unusual ones. */
export function anyString(constraints: { minLength?: number; maxLength?: number } = {}) {
  return fc.oneof(
    fc.string(constraints),
    fc.string({ ...constraints, unit: 'grapheme' }),
    fc.string({ ...constraints, unit: 'binary' }),
    fc.string({ ...constraints, unit: fc.oneof(fc.string({ maxLength: 1 }), unusualUnicode) }),
  );
}

/**
 * Strings of a pattern. fast-check's regex generator knows no lookaround (generate without it,
 * then filter by it), and makes short printable ASCII only: where the pattern lets through a
 * fair share of any strings (a pattern that only bans NUL), those come too, so such fields
 * keep their Unicode, surrogates and long values.
 */
function matching(pattern: string, lengths: { minLength?: number; maxLength: number }) {
  const full = new RegExp(pattern, 'u');
  const fits = (s: string) =>
    full.test(s) && [...s].length >= (lengths.minLength ?? 0) && [...s].length <= lengths.maxLength;
  const bare = pattern.replace(/\(\?<?[=!][^)]*\)/g, '');
  const fromPattern = fc.stringMatching(new RegExp(bare, 'u')).filter(fits);
  const any = anyString(lengths);
  const share = fc.sample(any, { seed: 1, numRuns: 100 }).filter(fits).length / 100;
  return share >= 0.2 ? fc.oneof(any.filter(fits), fromPattern) : fromPattern;
}

function stringOf(schema: Schema, realValues: readonly string[]): fc.Arbitrary<string> {
  const lengths = {
    minLength: schema.minLength as number | undefined,
    maxLength: Math.min((schema.maxLength as number | undefined) ?? 300, 300),
  };
  let generated: fc.Arbitrary<string>;
  if (typeof schema.pattern === 'string') generated = matching(schema.pattern, lengths);
  else {
    switch (schema.format) {
      case 'uuid':
        generated = fc.uuid({ version: [4, 7] });
        break;
      case 'email':
        generated = fc.emailAddress().filter((s) => s.length <= lengths.maxLength);
        break;
      case 'date-time':
        generated = fc
          .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
        break;
      case 'uri':
        generated = fc.webUrl();
        break;
      default:
        generated = anyString(lengths);
    }
  }
  // Real values (ids of rows that exist, the fuzz user's handle) let a request reach past the
  // lookup into the code behind it; the caller passes those that fit this schema.
  return realValues.length > 0
    ? fc.oneof(
        { weight: 2, arbitrary: generated },
        { weight: 3, arbitrary: fc.constantFrom(...realValues) },
      )
    : generated;
}

export interface ValueContext {
  resolve: (schema: Schema) => Schema;
  /** Real values valid for this schema (checked by the caller). */
  realValuesFor: (schema: Schema) => readonly string[];
  /** What a `format: binary` string is in a multipart body. */
  binary: fc.Arbitrary<Uint8Array>;
}

/** Values the schema accepts (the caller filters by the schema check for what this cannot see). */
export function validValue(raw: Schema, context: ValueContext): fc.Arbitrary<unknown> {
  const schema = context.resolve(raw);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (Array.isArray(schema.type)) {
    return fc.oneof(
      ...(schema.type as string[]).map((type) => validValue({ ...schema, type }, context)),
    );
  }
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: (schema.minimum as number | undefined) ?? -(2 ** 31),
        max: (schema.maximum as number | undefined) ?? 2 ** 31 - 1,
      });
    case 'number':
      return fc.double({
        min: (schema.minimum as number | undefined) ?? -1e9,
        max: (schema.maximum as number | undefined) ?? 1e9,
        noNaN: true,
      });
    case 'string':
      if (schema.format === 'binary') return context.binary;
      return stringOf(schema, context.realValuesFor(schema));
    case 'array':
      return fc.array(validValue(schema.items as Schema, context), {
        minLength: schema.minItems as number | undefined,
        maxLength: Math.min((schema.maxItems as number | undefined) ?? 5, 5),
      });
    case 'object': {
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      const model = Object.fromEntries(
        Object.entries(properties).map(([key, property]) => [key, validValue(property, context)]),
      );
      return fc.record(model, { requiredKeys: (schema.required as string[] | undefined) ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}
