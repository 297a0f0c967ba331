import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

const STACK_ENV = '.stack/test/stack.env';

/**
 * Runs once per test run: makes sure the test stack is up (scripts/test.sh normally did it
 * already) and the test database is at the latest migration.
 */
export function setup(): void {
  if (!existsSync(STACK_ENV)) {
    execFileSync('bash', ['scripts/stack/up.sh', '--profile', 'test', '--no-migrate'], {
      stdio: 'inherit',
    });
  }
  const env = parseEnv(readFileSync(STACK_ENV, 'utf8')) as Record<string, string>;
  Object.assign(process.env, env, { NODE_ENV: 'test' });
  execFileSync(process.execPath, ['scripts/db.ts', 'migrate'], {
    stdio: 'inherit',
    env: process.env,
  });
}
