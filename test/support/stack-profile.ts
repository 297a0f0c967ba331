import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** The stacks the suites run on: `test` for the main suite, `reliability` for its own. */
export type StackProfile = 'test' | 'reliability';

const envFileOf = (profile: StackProfile) => `.stack/${profile}/stack.env`;

/** The environment scripts/stack/up.sh wrote for the profile; empty before its first start. */
export function stackEnv(profile: StackProfile): Record<string, string> {
  const file = envFileOf(profile);
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}

/**
 * Run once per test run: makes sure the profile's stack is up (scripts/test.sh normally did it
 * already) and its database is at the latest migration; leaves its environment in process.env.
 */
export function prepareStack(profile: StackProfile): void {
  if (!existsSync(envFileOf(profile))) {
    execFileSync('bash', ['scripts/stack/up.sh', '--profile', profile, '--no-migrate'], {
      stdio: 'inherit',
    });
  }
  Object.assign(process.env, stackEnv(profile), { NODE_ENV: 'test' });
  execFileSync(process.execPath, ['scripts/db.ts', 'migrate'], {
    stdio: 'inherit',
    env: process.env,
  });
}
