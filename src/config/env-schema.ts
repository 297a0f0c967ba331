import { z } from 'zod';

/**
 * One environment variable: how to parse it, a `default` that is safe everywhere (tuning
 * knobs), and a `local` value that points at the local stack. Development and test fall
 * back to `local`; production never does, so a deploy must name every endpoint and secret.
 */
export interface EnvVar<T extends z.ZodType = z.ZodType> {
  schema: T;
  default?: string;
  local?: string;
}

export type EnvSpec = Record<string, EnvVar>;

export type ParsedEnv<S extends EnvSpec> = { [K in keyof S]: z.output<S[K]['schema']> };

export const runtimeEnvironments = ['development', 'test', 'production'] as const;
export type RuntimeEnvironment = (typeof runtimeEnvironments)[number];

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration (${problems.length}):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function readRuntimeEnvironment(env: NodeJS.ProcessEnv): RuntimeEnvironment {
  const value = env.NODE_ENV ?? 'development';
  if (!(runtimeEnvironments as readonly string[]).includes(value)) {
    throw new ConfigError([`NODE_ENV: must be one of ${runtimeEnvironments.join(', ')}`]);
  }
  return value as RuntimeEnvironment;
}

/**
 * Parses every variable of the spec and collects every failure, so that one start-up
 * reports all of them. Callers throw a ConfigError when problems remain.
 */
export function parseEnv<S extends EnvSpec>(
  spec: S,
  env: NodeJS.ProcessEnv,
  runtime: RuntimeEnvironment,
): { values: ParsedEnv<S>; problems: string[] } {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(spec)) {
    const raw = env[name] === '' ? undefined : env[name];
    const value =
      raw ?? variable.default ?? (runtime === 'production' ? undefined : variable.local);
    const result = variable.schema.safeParse(value);
    if (result.success) {
      out[name] = result.data;
    } else {
      const reason =
        value === undefined ? 'is required' : (result.error.issues[0]?.message ?? 'is invalid');
      problems.push(`${name}: ${reason}`);
    }
  }
  return { values: out as ParsedEnv<S>, problems };
}

export const str = () => z.string().min(1);
export const optionalStr = () => z.string().min(1).optional();
export const url = () => z.url();
export const port = () => z.coerce.number().int().min(0).max(65535);
export const positiveInt = () => z.coerce.number().int().positive();
export const bool = () =>
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
export const list = () =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
