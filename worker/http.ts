import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * The worker's own small HTTP endpoint: `/health` for liveness probes and `/metrics` for
 * Prometheus. It is plain node:http because the worker has no business with Express.
 */
export function startWorkerHttp(options: {
  host: string;
  port: number;
  registry: Registry;
  isHealthy: () => boolean;
}): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      const healthy = options.isHealthy();
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: healthy ? 'ok' : 'stopping' }));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      options.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 404, code: 'general:not_found' }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
