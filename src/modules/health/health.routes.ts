import { route } from '../../http/typed-handler.ts';
import type { HealthService } from './health.service.ts';

export function healthRoutes(health: HealthService) {
  return [
    route('healthCheck', async () => ({ status: 204 })),
    route('healthReady', async ({ res }) => {
      const { ready, checks } = await health.readiness();
      res.set('Cache-Control', 'no-store');
      return ready ? { status: 200, body: checks } : { status: 503, body: checks };
    }),
  ];
}
