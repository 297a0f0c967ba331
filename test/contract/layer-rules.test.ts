import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import type { ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const configFile = join(repoRoot, '.dependency-cruiser.cjs');

/**
 * A small tree in the project's layout that breaks every rule in a known way, next to imports
 * the rules must let through (marked "allowed"). Cruised once with the project's config.
 */
const fixture: Record<string, string> = {
  'src/app.ts': 'export const app = {};\n',
  'src/generated/openapi.ts': 'export interface operations { listThings: object }\n',
  'src/http/typed-handler.ts': 'export const route = (operationId: string) => operationId;\n',
  'src/http/middleware/things.ts': `
import { requireSession } from '../../modules/auth/session/session.port.ts'; // allowed
import { listThings } from '../../modules/things/things.service.ts'; // allowed
import { findThing } from '../../modules/things/things.repository.ts';
import { thingKey } from '../../modules/things/things.keys.ts';
export const things = [requireSession, listThings, findThing, thingKey];
`,
  'src/shared/clients/redis.ts': "export type { Redis as RedisClient } from 'ioredis';\n",
  'src/shared/db/knex.ts': `
import { route } from '../../http/typed-handler.ts';
export const db = route;
`,
  'src/modules/auth/session/session.port.ts':
    "export { requireSession } from './session.guard.ts';\n",
  'src/modules/auth/session/session.guard.ts': 'export const requireSession = () => undefined;\n',
  'src/modules/auth/session/session.revocation.ts': 'export const revokeUserSessions = () => 0;\n',
  'src/modules/auth/session/session.store.ts': `
import RedisStore from 'connect-redis'; // allowed
export class SessionStore extends RedisStore {}
`,
  'src/modules/things/things.keys.ts': 'export const thingKey = (id: string) => id;\n',
  'src/modules/things/things.cache.ts': `
import type { RedisClient } from '../../shared/clients/redis.ts';
export const thingCache = (redis: RedisClient) => redis;
`,
  'src/modules/things/things.repository.ts': `
import type { RedisClient } from '../../shared/clients/redis.ts';
export interface ThingRow { id: string }
export const findThing = (redis?: RedisClient) => redis;
`,
  'src/modules/things/things.service.ts': `
import { revokeUserSessions } from '../auth/session/session.revocation.ts'; // allowed
import { findThing } from './things.repository.ts'; // allowed
export const listThings = () => [findThing(), revokeUserSessions()];
`,
  'src/modules/things/things-admin.service.ts': `
import { route } from '../../http/typed-handler.ts';
import { requireSession } from '../auth/session/session.port.ts';
import { SessionStore } from '../auth/session/session.store.ts';
export const admin = [route, requireSession, SessionStore];
`,
  'src/modules/things/things.routes.ts': `
import type { Registry } from 'prom-client'; // allowed: a type
import type { operations } from '../../generated/openapi.ts'; // allowed
import { route } from '../../http/typed-handler.ts'; // allowed
import { requireSession } from '../auth/session/session.port.ts'; // allowed
import { listThings } from './things.service.ts'; // allowed
import { thingCache } from './things.cache.ts'; // Redis work under a name that is no repository
export type Things = [Registry, operations];
export const thingRoutes = [route, requireSession, listThings, thingCache];
`,
  'src/modules/things/drivers.routes.ts': `
import type { S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { Meilisearch } from 'meilisearch';
import type { NatsConnection } from 'nats';
import type { Transporter } from 'nodemailer';
import type { Pool } from 'pg';
import type { ThingRow } from './things.repository.ts';
export type Drivers = [S3Client, Redis, Knex, Meilisearch, NatsConnection, Transporter, Pool, ThingRow];
`,
  'src/modules/things/things-session.ts': `
import session from 'express-session';
export const thingSession = session;
`,
  'src/modules/things/things-web.ts': `
import express from 'express';
export const web = express;
`,
  'src/modules/things/things.mapper.ts':
    "export { toThing } from './things-mapper.ts'; // no such file\n",
  'src/modules/things/cycle-a.ts': "import { b } from './cycle-b.ts';\nexport const a = () => b;\n",
  'src/modules/things/cycle-b.ts': "import { a } from './cycle-a.ts';\nexport const b = () => a;\n",
  'src/bridge/relay.ts': `
import { randomUUID } from 'node:crypto'; // allowed
import type { Knex } from 'knex'; // allowed
import { connect } from 'nats'; // allowed
import { db } from '../shared/db/knex.ts'; // allowed
import { Redis } from 'ioredis';
import type { RedisClient } from '../shared/clients/redis.ts';
import { listThings } from '../modules/things/things.service.ts';
export type Relay = [Knex, RedisClient];
export const relay = [randomUUID, connect, db, Redis, listThings];
`,
  'worker/consumers/web.consumer.ts': `
import connectRedis from 'connect-redis';
import cookieParser from 'cookie-parser';
import cors from 'cors';
import express from 'express';
import * as validator from 'express-openapi-validator';
import session from 'express-session';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
export const web = [connectRedis, cookieParser, cors, express, validator, session, helmet, swaggerUi];
`,
  'worker/consumers/thing.consumer.ts': `
import { findThing } from '../../src/modules/things/things.repository.ts'; // allowed
import { web } from '../../src/modules/things/things-web.ts'; // express, one step away
export const consumer = [findThing, web];
`,
  'scripts/bench/floor-server.ts': `
import express from 'express'; // allowed in a bench server
import { route } from '../../src/http/typed-handler.ts'; // allowed in a bench server
import { app } from '../../src/app.ts';
export const floor = [express, route, app];
`,
  'scripts/worker/command.ts': `
import cors from 'cors';
import { route } from '../../src/http/typed-handler.ts';
import { listThings } from '../../src/modules/things/things.service.ts'; // allowed
import { thingRoutes } from '../../src/modules/things/things.routes.ts';
export const command = [cors, route, listThings, thingRoutes];
`,
};

/** What each rule must report on the fixture, as `from → to`. */
const expected: Record<string, string[]> = {
  'routes-import-only-services-and-http': [
    'src/modules/things/things.routes.ts → src/modules/things/things.cache.ts',
  ],
  'routes-never-touch-drivers': [
    'src/modules/things/drivers.routes.ts → @aws-sdk/client-s3',
    'src/modules/things/drivers.routes.ts → ioredis',
    'src/modules/things/drivers.routes.ts → knex',
    'src/modules/things/drivers.routes.ts → meilisearch',
    'src/modules/things/drivers.routes.ts → nats',
    'src/modules/things/drivers.routes.ts → nodemailer',
    'src/modules/things/drivers.routes.ts → pg',
    'src/modules/things/drivers.routes.ts → src/modules/things/things.repository.ts',
  ],
  'services-never-touch-http': [
    'src/modules/things/things-admin.service.ts → src/http/typed-handler.ts',
    'src/modules/things/things-admin.service.ts → src/modules/auth/session/session.port.ts',
  ],
  'repositories-are-leaves': [
    'src/modules/things/things.repository.ts → src/shared/clients/redis.ts',
  ],
  'shared-is-standalone': ['src/shared/db/knex.ts → src/http/typed-handler.ts'],
  'http-reaches-modules-through-services-and-session-port': [
    'src/http/middleware/things.ts → src/modules/things/things.keys.ts',
    'src/http/middleware/things.ts → src/modules/things/things.repository.ts',
  ],
  'sessions-behind-their-port': [
    'src/modules/things/things-admin.service.ts → src/modules/auth/session/session.store.ts',
  ],
  'session-libraries-stay-in-the-session-module': [
    'src/modules/things/things-session.ts → express-session',
  ],
  'worker-never-reaches-express': [
    'worker/consumers/thing.consumer.ts → express',
    'worker/consumers/web.consumer.ts → connect-redis',
    'worker/consumers/web.consumer.ts → cookie-parser',
    'worker/consumers/web.consumer.ts → cors',
    'worker/consumers/web.consumer.ts → express',
    'worker/consumers/web.consumer.ts → express-openapi-validator',
    'worker/consumers/web.consumer.ts → express-session',
    'worker/consumers/web.consumer.ts → helmet',
    'worker/consumers/web.consumer.ts → swagger-ui-express',
  ],
  'bridge-touches-only-outbox-and-nats': [
    'src/bridge/relay.ts → ioredis',
    'src/bridge/relay.ts → src/modules/things/things.service.ts',
    'src/bridge/relay.ts → src/shared/clients/redis.ts',
  ],
  'scripts-never-build-the-app': [
    'scripts/bench/floor-server.ts → src/app.ts',
    'scripts/worker/command.ts → src/modules/things/things.routes.ts',
  ],
  'scripts-stay-out-of-http': [
    'scripts/worker/command.ts → cors',
    'scripts/worker/command.ts → src/http/typed-handler.ts',
  ],
  'imports-resolve': ['src/modules/things/things.mapper.ts → ./things-mapper.ts'],
  'no-circular': ['src/modules/things/cycle-a.ts → src/modules/things/cycle-b.ts'],
};

interface Reported {
  rule: string;
  edge: string;
}

/** node_modules/@types/pg/index.d.ts → pg: the file a package resolves to varies by version. */
function shortName(path: string): string {
  return /^node_modules\/(?:@types\/)?((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? path;
}

async function cruiseLayers(baseDir: string): Promise<Reported[]> {
  const options = await extractDepcruiseOptions(configFile);
  const { output } = await cruise(
    ['src', 'worker', 'scripts'],
    { ...options, baseDir, preserveSymlinks: true },
    {},
    { tsConfig: extractTSConfig(join(repoRoot, 'tsconfig.json')) },
  );
  return (output as ICruiseResult).summary.violations.map((violation) => ({
    rule: violation.rule.name,
    edge: `${violation.from} → ${shortName(violation.to)}`,
  }));
}

const edgesOf = (reported: Reported[], rule: string) =>
  reported
    .filter((violation) => violation.rule === rule)
    .map((violation) => violation.edge)
    .sort();

describe('layer rules', () => {
  let fixtureDir: string;
  let reported: Reported[];

  beforeAll(async () => {
    fixtureDir = await mkdtemp(join(tmpdir(), 'layer-rules-'));
    // The rules name packages by their node_modules path, so the fixture resolves them there.
    await symlink(join(repoRoot, 'node_modules'), join(fixtureDir, 'node_modules'), 'dir');
    for (const [path, source] of Object.entries(fixture)) {
      await mkdir(dirname(join(fixtureDir, path)), { recursive: true });
      await writeFile(join(fixtureDir, path), source);
    }
    reported = await cruiseLayers(fixtureDir);
  });
  afterAll(async () => {
    await rm(fixtureDir, { recursive: true, force: true });
  });

  it('When the project itself is cruised, then no rule is broken', async () => {
    expect(await cruiseLayers(repoRoot)).toEqual([]);
  });

  it.each(Object.entries(expected))(
    'When the fixture breaks %s, then that rule reports exactly those imports',
    (rule, edges) => {
      expect(edgesOf(reported, rule)).toEqual([...edges].sort());
    },
  );

  it('When a rule is added to the config, then it needs a fixture here', async () => {
    const { ruleSet } = await extractDepcruiseOptions(configFile);
    const rules = (ruleSet?.forbidden ?? []).map((rule) => rule.name);
    expect(rules.sort()).toEqual(Object.keys(expected).sort());
  });

  it('When the fixture is cruised, then only the violations listed above are reported', () => {
    expect(reported.filter(({ rule, edge }) => !expected[rule]?.includes(edge))).toEqual([]);
  });
});
