import { defineConfig } from 'vitest/config';
import { soak } from './test/reliability/support/mode.ts';
import { stackEnv } from './test/support/stack-profile.ts';

// `npm run test:reliability`: the suite that starts servers and workers as production does,
// stops and restarts the services under them and sends hostile input. It runs on its own stack
// (scripts/stack/up.sh --profile reliability), one file at a time: its scenarios measure
// latency and throughput, and each one's load would be another's noise.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    // The soak runs only in the opt-in long mode; left out otherwise, so no run shows it skipped.
    exclude: soak ? [] : ['test/reliability/soak.test.ts'],
    globalSetup: ['test/reliability/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: { ...stackEnv('reliability'), NODE_ENV: 'test', LOG_LEVEL: 'error' },
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
