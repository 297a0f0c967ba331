import { defineConfig } from 'vitest/config';
import { stackEnv } from './test/support/stack-profile.ts';

// Tests talk to the real services of the test stack (scripts/stack/up.sh --profile test);
// the global setup starts it when it is not up, so the env file exists by the time workers run.
// The reliability suite stops and restarts services, so it runs on a stack of its own
// (vitest.reliability.config.ts).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'worker/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/reliability/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: { ...stackEnv('test'), NODE_ENV: 'test', LOG_LEVEL: 'error' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
