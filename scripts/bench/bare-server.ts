import express from 'express';

/**
 * The yardstick: Express 5 with nothing but the answers the scenarios measure. The bench
 * hands it, over IPC, the body the app gave for each scenario's request, so both send the
 * same bytes.
 */
const bodies = new Map<string, unknown>();
process.on('message', (message: { url: string; body: unknown }) => {
  bodies.set(message.url, message.body);
  process.send?.({ stored: message.url });
});

const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
app.use((req, res) => {
  const body = bodies.get(req.originalUrl);
  if (body === undefined) res.status(404).end();
  else res.json(body);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
