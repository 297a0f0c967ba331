import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { defineConfig } from 'vitest/config';

const STACK_ENV = '.stack/test/stack.env';

// Tests talk to the real services of the test stack (scripts/stack/up.sh --profile test);
// the global setup starts it when it is not up, so the env file exists by the time workers run.
function stackEnv(): Record<string, string> {
  if (!existsSync(STACK_ENV)) return {};
  return parseEnv(readFileSync(STACK_ENV, 'utf8')) as Record<string, string>;
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'worker/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: { ...stackEnv(), NODE_ENV: 'test', LOG_LEVEL: 'error' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
