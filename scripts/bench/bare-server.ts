import express from 'express';

// The yardstick: Express 5 with nothing but the route the scenario measures.
const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
