import autocannon from 'autocannon';

export interface Measurement {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  /** The server's origin. */
  origin: string;
  /** Each connection sends these in turn, round and round. */
  paths: string[];
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  durationSeconds?: number;
}

export async function measure(options: LoadOptions): Promise<Measurement> {
  const result = await autocannon({
    url: options.origin + options.paths[0],
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections ?? 50,
    duration: options.durationSeconds ?? 5,
    requests: options.paths.length > 1 ? options.paths.map((path) => ({ path })) : undefined,
  });
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
