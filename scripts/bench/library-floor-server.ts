import RedisStore from 'connect-redis';
import cookieParser from 'cookie-parser';
import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import session from 'express-session';
import { loadContract } from '../../src/http/contract.ts';
import { memoiseValidatorRouteRegexps } from '../../src/http/validator-route-cache.ts';
import { createRedis } from '../../src/shared/clients/redis.ts';
import { meBody } from './me-body.ts';

/**
 * A yardstick between bare Express and the app: GET /v0/user/me built from the libraries the
 * kit is made of and nothing else (no kit middleware, no session rules, no user lookup), so
 * the bench can tell what those libraries cost from what the kit adds. FLOOR picks how much:
 * `session` is express-session on connect-redis (one Redis read per request); `validated`
 * adds express-openapi-validator on the contract, as the app mounts it.
 */
const floor = process.env.FLOOR ?? 'session';
const redis = await createRedis(process.env.REDIS_SESSION_URL!, 'bench-floor');

const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
app.use(cookieParser());
app.use(
  session({
    name: 'session_id',
    secret: process.env.SESSION_SECRET!,
    store: new RedisStore({ client: redis, prefix: 'bench_floor_session:' }),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 },
  }),
);
// Outside the contract on purpose: the validator (when mounted) never sees it.
app.post('/floor/login', (req, res) => {
  (req.session as unknown as { user_id: string }).user_id = meBody.id;
  res.status(204).end();
});
if (floor === 'validated') {
  memoiseValidatorRouteRegexps();
  app.use(
    OpenApiValidator.middleware({
      apiSpec: loadContract() as never,
      validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
      validateResponses: false,
      validateSecurity: false,
      ignorePaths: /^\/floor\//,
      fileUploader: false,
    }),
  );
}
app.get('/v0/user/me', (req, res) => {
  if (!(req.session as unknown as { user_id?: string }).user_id) {
    res.status(401).end();
    return;
  }
  res.json(meBody);
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
