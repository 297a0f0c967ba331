import RedisStore from 'connect-redis';
import cookieParser from 'cookie-parser';
import express from 'express';
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import session from 'express-session';
import { loadContract } from '../../src/http/contract.ts';
import { contractFormats } from '../../src/http/formats.ts';
import { memoiseValidatorRouteRegexps } from '../../src/http/validator-route-cache.ts';
import { microsToIso } from '../../src/modules/posts/posts.cursor.ts';
import { listPage } from '../../src/modules/posts/posts.repository.ts';
import { createRedis } from '../../src/shared/clients/redis.ts';
import { createPostgresSearchEngine } from '../../src/shared/clients/search/postgres-engine.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { createDatabase } from '../../src/shared/db/knex.ts';

/**
 * Each bench scenario's library floor: the same request on the same contract, answered
 * through the libraries the kit is made of and nothing else — express, express-openapi-
 * validator as the app mounts it, express-session on connect-redis where the request is
 * signed in — doing the same store reads as the app, straight from the stores: the session
 * and the user snapshot from Redis, a cached post and its author from the cache Redis, the
 * listing's keyset query and the search engine's queries on PostgreSQL. What the app costs
 * beyond this is the kit's own layers.
 */
const sessionRedis = await createRedis(process.env.REDIS_SESSION_URL!, 'bench-floor-session');
const cacheRedis = await createRedis(process.env.REDIS_CACHE_URL!, 'bench-floor-cache');
const db = createDatabase(
  {
    url: process.env.DATABASE_URL!,
    readUrl: process.env.DATABASE_READ_URL!,
    poolMax: Number(process.env.DATABASE_POOL_MAX ?? 10),
    readPoolMax: Number(process.env.DATABASE_READ_POOL_MAX ?? 10),
  },
  'bench-floor',
);
const search = createPostgresSearchEngine(db.write);

type Snapshot = Record<string, unknown> & { id: string; handle: string; display_name: string };

const snapshotOf = async (userId: string): Promise<Snapshot | undefined> => {
  const text = await cacheRedis.get(redisKeys.userSnapshot(userId));
  return text ? (JSON.parse(text) as Snapshot) : undefined;
};

const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
app.use(cookieParser());
const signedIn: RequestHandler = session({
  name: 'session_id',
  secret: process.env.SESSION_SECRET!,
  // No touch: the app's store refreshes a session's expiry only when its rules say so.
  store: new RedisStore({
    client: sessionRedis,
    prefix: 'bench_floor_session:',
    disableTouch: true,
  }),
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 },
});
// Outside the contract on purpose: the validator never sees it.
app.post('/floor/login', signedIn, (req, res) => {
  (req.session as unknown as { user_id: string }).user_id = req.query.user_id as string;
  res.status(204).end();
});
memoiseValidatorRouteRegexps();
app.use(
  OpenApiValidator.middleware({
    apiSpec: loadContract() as never,
    validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
    validateResponses: false,
    validateSecurity: false,
    ignorePaths: /^\/floor\//,
    fileUploader: false,
    formats: contractFormats,
  }),
);

app.get('/v0/user/me', signedIn, async (req, res) => {
  const userId = (req.session as unknown as { user_id?: string }).user_id;
  const user = userId ? await snapshotOf(userId) : undefined;
  if (!user) {
    res.status(401).end();
    return;
  }
  res.json({
    id: user.id,
    handle: user.handle,
    display_name: user.display_name,
    bio: user.bio,
    profile_image_url: null,
    banner_image_url: null,
    is_verified: user.verified_at !== null,
    created_at: user.created_at,
    email: user.email,
    totp_enabled: user.totp_enabled,
    has_password: user.has_password,
  });
});

app.get('/v0/posts/:id', async (req, res) => {
  const text = await cacheRedis.get(redisKeys.postCache(req.params.id));
  const post = text ? (JSON.parse(text) as Record<string, string>) : undefined;
  const author = post && (await snapshotOf(post.author_id!));
  if (!post || !author) {
    res.status(404).end();
    return;
  }
  res.json({
    id: post.id,
    author: { id: author.id, handle: author.handle, display_name: author.display_name },
    title: post.title,
    content: post.content,
    created_at: post.created_at,
    updated_at: post.updated_at,
  });
});

/** The position a cursor carries (time in microseconds, id), read without checking its tag. */
function position(cursor: string) {
  const bytes = Buffer.from(cursor, 'base64url');
  const hex = bytes.subarray(8, 24).toString('hex');
  return {
    createdAt: microsToIso(bytes.readBigInt64BE(0)),
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  };
}

app.get('/v0/posts', async (req, res) => {
  const limit = Number(req.query.limit ?? 20);
  const cursor = req.query.cursor as string | undefined;
  const rows = await listPage(db.read, {
    authorId: undefined,
    before: cursor ? position(cursor) : null,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next = Buffer.alloc(40);
  if (last) next.writeBigInt64BE(BigInt(last.created_micros), 0);
  res.json({
    posts: page.map((row) => ({
      id: row.id,
      author: {
        id: row.author_id,
        handle: row.author_handle,
        display_name: row.author_display_name,
      },
      title: row.title,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    })),
    next_cursor: rows.length > limit ? next.toString('base64url') : null,
  });
});

app.get('/v0/search/posts', async (req, res) => {
  const page = Number(req.query.page ?? 1);
  const pageSize = Number(req.query.page_size ?? 20);
  const result = await search.searchPosts({ q: req.query.q as string, page, pageSize });
  res.json({
    hits: result.hits,
    page,
    page_size: pageSize,
    total_hits: result.total_hits,
    total_pages: Math.ceil(result.total_hits / pageSize),
  });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
