import path from 'node:path';
import type { Knex } from 'knex';
import { ConfigError, parseEnv, readRuntimeEnvironment } from './src/config/env-schema.ts';
import { sharedEnvSpec } from './src/config/shared.ts';

// Absolute, so migrations resolve the same from any working directory (tests, scripts, CI).
export const migrationSettings: Knex.MigratorConfig = {
  directory: path.join(import.meta.dirname, 'migrations'),
  extension: 'ts',
  loadExtensions: ['.ts'],
  tableName: 'knex_migrations',
};

export const seedSettings: Knex.SeederConfig = {
  directory: path.join(import.meta.dirname, 'seeds'),
  extension: 'ts',
  loadExtensions: ['.ts'],
};

/** Reads DATABASE_URL with the same rules as the app: the local-stack default outside production only. */
export function readDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = readRuntimeEnvironment(env);
  const { values, problems } = parseEnv({ DATABASE_URL: sharedEnvSpec.DATABASE_URL }, env, runtime);
  if (problems.length > 0) throw new ConfigError(problems);
  return values.DATABASE_URL;
}

export function knexConfig(databaseUrl: string = readDatabaseUrl()): Knex.Config {
  return {
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'expresskit-migrations' },
    pool: { min: 0, max: 2 },
    migrations: migrationSettings,
    seeds: seedSettings,
  };
}

export default knexConfig();
