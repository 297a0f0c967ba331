import type { Dependencies } from '../../dependencies.ts';

export type DependencyStatus = 'ok' | 'down';

export interface Readiness {
  postgres: DependencyStatus;
  redis: DependencyStatus;
  nats: DependencyStatus;
  storage: DependencyStatus;
}

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

type HealthDependencies = Pick<Dependencies, 'db' | 'redis' | 'nats' | 'storage'>;

/** `isDraining`: true once the instance shuts down, which makes it unready whatever it reaches. */
export function createHealthService(deps: HealthDependencies, isDraining: () => boolean) {
  return {
    /** Probes every dependency in parallel, each bounded, so readiness answers within ~2 s. */
    async readiness(): Promise<{ ready: boolean; checks: Readiness }> {
      const [postgres, redis, nats, storage] = await Promise.all([
        probe(() => deps.db.ping()),
        probe(() => Promise.all([deps.redis.session.ping(), deps.redis.cache.ping()])),
        probe(() => deps.nats.flush()),
        probe(() => deps.storage.ping()),
      ]);
      const checks = { postgres, redis, nats, storage };
      const reachable = Object.values(checks).every((s) => s === 'ok');
      return { ready: reachable && !isDraining(), checks };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
