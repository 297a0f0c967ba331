import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions, type BuiltApp } from '../../src/app.ts';
import { loadServerConfig, type ServerConfig } from '../../src/config/server.ts';
import { createDependencies, type Dependencies } from '../../src/dependencies.ts';
import { createLogger } from '../../src/shared/logger.ts';

export interface TestApp {
  baseUrl: string;
  deps: Dependencies;
  built: BuiltApp;
  close(): Promise<void>;
}

type ConfigOverrides = { [K in keyof ServerConfig]?: Partial<ServerConfig[K]> };

/**
 * Every test file calls from 127.0.0.1 into one shared Redis, so the contract's limits
 * (5 sign-ups an hour per IP) would make tests fail each other. By default the limiter stays in
 * the path, headers and all, with room for any test; rate-limit tests pass their own limits.
 */
const roomyRateLimits: AppOptions['rateLimits'] = (_operationId, declared) => ({
  ...declared,
  limit: 100_000,
  windowSeconds: 60,
});

/** The real app on port 0 against the test stack, with optional config overrides. */
export async function startTestApp(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  options: AppOptions = {},
): Promise<TestApp> {
  const base = loadServerConfig(env);
  const config = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    config[key] = { ...(config[key] as object), ...(value as object) };
  }
  const typed = config as ServerConfig;
  const logger = createLogger({ env: typed.env, level: typed.logLevel, service: 'test' });
  const deps = await createDependencies(typed, logger);
  const built = createApp(deps, { rateLimits: roomyRateLimits, ...options });
  const server = built.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    deps,
    built,
    async close() {
      built.closeEventStreams();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}
