import type { Registry } from 'prom-client';
import { responded, route } from '../../http/typed-handler.ts';

export function metricsRoutes(registry: Registry) {
  return [
    route('metrics', async ({ res }) => {
      res.type(registry.contentType).send(await registry.metrics());
      return responded;
    }),
  ];
}
