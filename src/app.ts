import cookieParser from 'cookie-parser';
import express from 'express';
import type { Express, Request, RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import type { Dependencies } from './dependencies.ts';
import { operations } from './generated/operations.ts';
import { apiDocs } from './http/api-docs.ts';
import { loadContract, type OpenApiDocument } from './http/contract.ts';
import { contractFormats } from './http/formats.ts';
import { createHttpMetrics } from './http/metrics.ts';
import { accessLog } from './http/middleware/access-log.ts';
import { anonymousUser } from './http/middleware/anonymous-user.ts';
import { crossOrigin } from './http/middleware/cross-origin.ts';
import { errorHandler, notFound } from './http/middleware/errors.ts';
import { refuseNonFiniteParameters } from './http/middleware/finite-numbers.ts';
import { refuseBracketedQueryKeys } from './http/middleware/query-keys.ts';
import { createRateLimiter, type RateLimit } from './http/middleware/rate-limit.ts';
import { requestId } from './http/middleware/request-id.ts';
import { stability } from './http/middleware/stability.ts';
import { turnstile } from './http/middleware/turnstile.ts';
import { memoiseValidatorRouteRegexps } from './http/validator-route-cache.ts';
import { forApi, series } from './http/series.ts';
import {
  closeOnRefusal,
  createUploadGate,
  fileUpload,
  isMultipart,
} from './http/middleware/file-upload.ts';
import {
  buildOperationDispatcher,
  buildRouter,
  findOperation,
  forBodyOperations,
  forExactPaths,
  forJsonBodyOperations,
} from './http/router.ts';
import { AppError } from './shared/errors/app-error.ts';
import { route, type OperationId } from './http/typed-handler.ts';
import { accountRoutes } from './modules/auth/account.routes.ts';
import { createAccountEmailService } from './modules/auth/account-email.service.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { createAuthService } from './modules/auth/auth.service.ts';
import { createEmailChangeService } from './modules/auth/email-change.service.ts';
import { createPasswordFlowsService } from './modules/auth/password-flows.service.ts';
import { requireSession, sessionMiddleware } from './modules/auth/session/session.port.ts';
import { createSessionsService } from './modules/auth/sessions.service.ts';
import { verificationRoutes } from './modules/auth/verification.routes.ts';
import { createVerificationService } from './modules/auth/verification.service.ts';
import { healthRoutes } from './modules/health/health.routes.ts';
import { createHealthService } from './modules/health/health.service.ts';
import { metricsRoutes } from './modules/metrics/metrics.routes.ts';
import { oauthRoutes } from './modules/oauth/oauth.routes.ts';
import { createOAuthService } from './modules/oauth/oauth.service.ts';
import { createOAuthSignupService } from './modules/oauth/oauth.signup.service.ts';
import { postsRoutes } from './modules/posts/posts.routes.ts';
import { createPostsService } from './modules/posts/posts.service.ts';
import { searchRoutes } from './modules/search/search.routes.ts';
import { createSearchService } from './modules/search/search.service.ts';
import { totpRoutes } from './modules/totp/totp.routes.ts';
import { createTotpService } from './modules/totp/totp.service.ts';
import { imageKinds } from './modules/users/user-images.kinds.ts';
import { createImageProcessor } from './modules/users/user-images.processor.ts';
import { userImagesRoutes } from './modules/users/user-images.routes.ts';
import { createUserImagesService } from './modules/users/user-images.service.ts';
import { usersRoutes } from './modules/users/users.routes.ts';
import { createUsersService } from './modules/users/users.service.ts';
import { createTurnstileClient } from './shared/clients/turnstile.ts';
import { createEventStreams } from './http/event-stream.ts';
import { actionLogsRoutes } from './modules/action-logs/action-logs.routes.ts';
import { createActionLogsService } from './modules/action-logs/action-logs.service.ts';
import { eventStreamRoutes } from './modules/eventstream/eventstream.routes.ts';
import { createEventStreamService } from './modules/eventstream/eventstream.service.ts';

const DOCS_PATHS = /^\/(docs|openapi\.json)(\/|$)/;

// Long-lived streams must not hold a concurrency slot or hit the request timeout.
const isLongLived = (req: Request) => req.path.startsWith('/v0/eventstream/');

export interface BuiltApp {
  app: Express;
  contract: OpenApiDocument;
  stability: ReturnType<typeof stability>;
  /** What /metrics serves; the server adds the outbox relay's metrics to it. */
  metricsRegistry: Registry;
  /** Ends every event stream and stops receiving events; shutdown calls it before draining. */
  closeEventStreams(): void;
  /** Marks the instance as shutting down: readiness answers 503 from now on. */
  startDraining(): void;
}

export interface AppOptions {
  /**
   * Replaces the limit the contract declares for an operation. Production passes nothing;
   * tests shrink limits and windows to reach them, or widen them to stay clear of them.
   */
  rateLimits?: (operationId: OperationId, declared: RateLimit) => RateLimit;
  /**
   * Built operations to mount as pending (501) in place of their handlers. Production passes
   * nothing; tests of the pending path use it, so they keep working once the contract has no
   * pending operation left.
   */
  pending?: readonly OperationId[];
}

/** Builds the Express app from its dependencies; tests build it in-process the same way. */
export function createApp(deps: Dependencies, options: AppOptions = {}): BuiltApp {
  const { config, logger } = deps;
  const development = config.env === 'development';
  const contract = loadContract();
  const metrics = createHttpMetrics();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);

  // Probes and metrics are infrastructure, served ahead of everything else but the request
  // id: a saturated server still answers them, they never mint cookies, and a probe every
  // second from each load balancer neither floods the access log nor skews the latency
  // histograms, and costs next to nothing.
  let draining = false;
  const health = createHealthService(deps, () => draining);
  const probeRoutes = [
    ...healthRoutes(health),
    ...(config.http.metricsEnabled
      ? metricsRoutes(metrics.registry)
      : [
          route('metrics', async () => {
            throw new AppError('general:not_found', 'Metrics are disabled');
          }),
        ]),
  ];
  const probes = forExactPaths(
    probeRoutes.map((r) => findOperation(r.operationId).path),
    buildRouter(probeRoutes, []),
  );

  // A JSON answer is not a page: it needs HSTS, nosniff and the framing and cross-origin
  // resource rules, not the headers meant for HTML documents (referrer, DNS prefetch, opener
  // and agent-cluster policies, legacy IE switches), which the docs pages get below.
  const securityHeaders = helmet({
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  const stabilityLayer = stability({ ...config.stability, bypass: isLongLived });
  // Uploads are read here too, each under its own limit, so the validator sees their parts.
  // The session is checked first: an anonymous caller takes no upload place and has no byte
  // of its body read, and the connection closes after its 401 instead of draining the body.
  // The route's own requireSession then finds the caller already resolved. Only a multipart
  // body is read here; any other goes on unread to the validator's 415, as on every operation.
  const uploadGate = createUploadGate(config.http.maxConcurrentUploads, metrics.registry);
  const sessionBeforeBody: RequestHandler = (req, res, next) =>
    isMultipart(req) ? requireSession(req, res, next) : next();
  const upload = (maxBytes: number) => [
    sessionBeforeBody,
    fileUpload({ field: 'file', maxBytes, gate: uploadGate }),
    closeOnRefusal,
  ];
  app.use(
    series(
      requestId(),
      probes,
      accessLog(logger),
      ...(config.http.metricsEnabled ? [metrics.middleware] : []),
      crossOrigin(config.http.corsAllowedOrigins),
      securityHeaders,
      stabilityLayer,
      // No secret: the only signed cookie is the session's, which express-session verifies.
      cookieParser(),
      anonymousUser({ secure: !development }),
      // Sessions only for the API: docs and probes never read or write the session store.
      forApi(sessionMiddleware(deps)),
      // A body is read only where the contract takes one: sent to any other operation it is
      // ignored, so that operation cannot be refused over it (400, 413, 415) and pays no
      // parsing.
      forJsonBodyOperations(express.json({ limit: config.http.jsonBodyLimitBytes })),
      forBodyOperations([
        ['uploadProfileImage', upload(imageKinds.profile.maxBytes)],
        ['uploadBannerImage', upload(imageKinds.banner.maxBytes)],
      ]),
    ),
  );

  if (config.http.apiDocsEnabled) {
    // Swagger UI needs its inline bootstrap script, so no Content-Security-Policy.
    app.use(
      ['/docs', '/openapi.json'],
      helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }),
    );
    app.use(apiDocs(contract));
  }

  memoiseValidatorRouteRegexps();
  const validation = OpenApiValidator.middleware({
    apiSpec: contract as never,
    validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
    validateResponses: config.env !== 'production',
    validateSecurity: false,
    ignorePaths: DOCS_PATHS,
    fileUploader: false,
    formats: contractFormats,
  });

  const auth = createAuthService(deps);
  const rateLimiter = createRateLimiter(deps.redis.session);
  const verification = createVerificationService(deps);
  const accountEmails = createAccountEmailService({ ...deps, sessionRedis: deps.redis.session });
  const { secretKey, ...turnstileConfig } = config.turnstile;
  const eventStream = createEventStreamService(deps);
  const eventStreams = createEventStreams({ ...config.eventStream, logger });
  const contractPending = operations.filter((op) => op.pending).map((op) => op.operationId);
  const stubbed = new Set(options.pending);
  const api = buildOperationDispatcher(
    [
      ...authRoutes(auth, createSessionsService(deps)),
      ...totpRoutes(createTotpService(deps), auth),
      ...oauthRoutes(createOAuthService(deps), createOAuthSignupService(deps), auth),
      ...accountRoutes(
        createPasswordFlowsService(deps),
        createEmailChangeService(deps),
        accountEmails,
      ),
      ...verificationRoutes(verification, accountEmails),
      ...usersRoutes(createUsersService(deps, verification)),
      ...userImagesRoutes(
        createUserImagesService(deps, createImageProcessor({ registry: metrics.registry })),
      ),
      ...actionLogsRoutes(createActionLogsService(deps)),
      ...eventStreamRoutes(eventStream, eventStreams),
      ...postsRoutes(createPostsService(deps)),
      ...searchRoutes(createSearchService(deps)),
    ].filter((definition) => !stubbed.has(definition.operationId)),
    [...contractPending, ...stubbed],
    {
      rateLimit: (operationId, declared) =>
        rateLimiter(operationId, options.rateLimits?.(operationId, declared) ?? declared),
      turnstile: secretKey
        ? turnstile(createTurnstileClient({ secretKey, ...turnstileConfig }))
        : null,
    },
  );
  app.use(
    series(
      forApi(refuseBracketedQueryKeys(contract)),
      ...validation,
      refuseNonFiniteParameters(),
      api,
    ),
  );

  app.use(notFound());
  app.use(errorHandler({ logger, exposeInternalDetails: development }));

  return {
    app,
    contract,
    stability: stabilityLayer,
    metricsRegistry: metrics.registry,
    closeEventStreams() {
      eventStream.close();
      eventStreams.closeAll();
    },
    startDraining() {
      draining = true;
    },
  };
}
