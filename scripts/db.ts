import knex from 'knex';
import type { Knex } from 'knex';
import { readRuntimeEnvironment } from '../src/config/env-schema.ts';
import { knexConfig } from '../knexfile.ts';

// The knex CLI cannot load .ts files here, so migrations and seeds run through its API;
// Node 24 strips types, and knex imports the .ts migration modules with import().

const usage = 'usage: node scripts/db.ts migrate | rollback [--all] | unlock | seed | reset';

async function main(argv: string[]): Promise<void> {
  const [command, flag] = argv;
  if (!command || !['migrate', 'rollback', 'unlock', 'seed', 'reset'].includes(command)) {
    console.error(usage);
    process.exitCode = 2;
    return;
  }
  // Seeds and reset destroy or invent data: they are for the local stack only.
  if (
    (command === 'seed' || command === 'reset') &&
    readRuntimeEnvironment(process.env) === 'production'
  ) {
    console.error(`refusing to ${command} with NODE_ENV=production`);
    process.exitCode = 1;
    return;
  }

  const db = knex(knexConfig());
  try {
    if (command === 'migrate') await migrate(db);
    if (command === 'rollback') await rollback(db, flag === '--all');
    if (command === 'unlock') await unlock(db);
    if (command === 'reset') {
      await rollback(db, true);
      await migrate(db);
      await seed(db);
    }
    if (command === 'seed') await seed(db);
  } finally {
    await db.destroy();
  }
}

async function migrate(db: Knex): Promise<void> {
  const [batch, files] = (await db.migrate.latest()) as [number, string[]];
  report(files.length === 0 ? 'already up to date' : `batch ${batch} applied`, files);
}

async function rollback(db: Knex, all: boolean): Promise<void> {
  const [batch, files] = (await db.migrate.rollback(undefined, all)) as [number, string[]];
  report(
    files.length === 0
      ? 'nothing to roll back'
      : `rolled back ${all ? 'all batches' : `batch ${batch}`}`,
    files,
  );
}

/**
 * A migration process that died half-way (killed during a long concurrent index build) leaves
 * knex's lock taken, and every later migrate refuses to start until it is freed.
 */
async function unlock(db: Knex): Promise<void> {
  await db.migrate.forceFreeMigrationsLock();
  console.log('migration lock freed');
}

async function seed(db: Knex): Promise<void> {
  const [files] = await db.seed.run();
  report('seeds run', files);
}

function report(title: string, files: string[]): void {
  console.log(title);
  for (const file of files) console.log(`  ${file.split('/').pop()}`);
}

await main(process.argv.slice(2));
