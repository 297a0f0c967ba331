import express from 'express';
import { meBody } from './me-body.ts';

// The yardstick: Express 5 with nothing but the routes the scenarios measure.
const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
app.get('/v0/user/me', (_req, res) => {
  res.json(meBody);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
