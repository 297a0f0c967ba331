import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { operations } from '../generated/operations.ts';
import { AppError } from '../shared/errors/app-error.ts';
import { requireSession } from '../modules/auth/session/session.port.ts';
import type { RateLimit } from './middleware/rate-limit.ts';
import { series } from './series.ts';
import type { OperationId, RouteDefinition } from './typed-handler.ts';

type ContractOperation = (typeof operations)[number];

/** `/v0/posts/{id}` → `/v0/posts/:id` */
export function toExpressPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ':$1');
}

export function findOperation(operationId: string): ContractOperation {
  const operation = operations.find((op) => op.operationId === operationId);
  if (!operation) throw new Error(`Operation ${operationId} is not in openapi.yaml`);
  return operation;
}

/**
 * Mounts `parser` on exactly the operations whose contract takes a JSON body, matched the way
 * the API router matches them.
 */
export function forJsonBodyOperations(parser: RequestHandler): RequestHandler {
  const router = Router();
  for (const operation of operations) {
    if (operation.jsonBody) router[operation.method](toExpressPath(operation.path), parser);
  }
  return skippedWithoutBody(router);
}

/** Mounts handlers on each of the given operations, at the method and path of each. */
export function forBodyOperations(
  handlers: [OperationId, RequestHandler | (RequestHandler | ErrorRequestHandler)[]][],
): RequestHandler {
  const router = Router();
  for (const [operationId, handler] of handlers) {
    const operation = findOperation(operationId);
    router[operation.method](toExpressPath(operation.path), handler);
  }
  return skippedWithoutBody(router);
}

/** A request without a body (every GET) has nothing to parse: it skips the path matching. */
function skippedWithoutBody(router: Router): RequestHandler {
  return (req, res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
    if (hasBody) router(req, res, next);
    else next();
  };
}

/** The contract's per-operation guards, each built once at start. */
export interface OperationGuards {
  /** Builds the limiter of an operation that declares `x-rate-limit`. */
  rateLimit?: (operationId: OperationId, rateLimit: RateLimit) => RequestHandler;
  /** Checks operations marked `x-turnstile`; `null` when no Turnstile secret is configured. */
  turnstile?: RequestHandler | null;
}

/** One operation and the handlers it runs: guards, its own middleware, its handler. */
export interface OperationChain {
  operation: ContractOperation;
  handlers: RequestHandler[];
}

/**
 * Every routed operation with its handler chain, and every operation the contract marks
 * `x-pending` with a 501, so the API surface always equals the contract. Routing an
 * operation that is still marked pending is a start-up error.
 *
 * The contract's `x-rate-limit` and `x-turnstile` are applied here to every operation that
 * declares them, pending ones too, after request validation and before the route's own
 * middleware: the rate limit first, so a flood is cut before Turnstile calls Cloudflare. A
 * limit keyed by user (`key: user`) waits for the route's own middleware instead, since it is
 * requireSession that tells who the user is: such an operation refuses a caller without a
 * session (401) before it counts anything, and a flood of those costs a session lookup each.
 * An operation that declares a guard the caller did not supply is a start-up error, so a
 * limit in the contract can never go unenforced.
 */
export function operationChains(
  routes: RouteDefinition[],
  pending: readonly OperationId[] = operations
    .filter((op) => op.pending)
    .map((op) => op.operationId),
  guards: OperationGuards = {},
): OperationChain[] {
  const chains: OperationChain[] = [];
  const seen = new Set<string>();
  const limiterOf = (operation: ContractOperation): RequestHandler[] => {
    if (!operation.rateLimit) return [];
    if (!guards.rateLimit) {
      throw new Error(`Operation ${operation.operationId} declares x-rate-limit; no limiter given`);
    }
    return [guards.rateLimit(operation.operationId, operation.rateLimit)];
  };
  const turnstileOf = (operation: ContractOperation): RequestHandler[] => {
    if (!operation.turnstile) return [];
    if (guards.turnstile === undefined) {
      throw new Error(`Operation ${operation.operationId} declares x-turnstile; no check given`);
    }
    return guards.turnstile ? [guards.turnstile] : [];
  };
  const add = (
    operationId: OperationId,
    before: RequestHandler[],
    handler: RequestHandler,
    pending = false,
  ) => {
    if (seen.has(operationId)) throw new Error(`Operation ${operationId} is routed twice`);
    seen.add(operationId);
    const operation = findOperation(operationId);
    const perUser = operation.rateLimit?.key === 'user';
    // A per-user limit counts the user requireSession found; without it every request would
    // fail on the missing user. A pending operation has no user to count and answers 501.
    if (perUser && !pending && !before.includes(requireSession)) {
      throw new Error(`Operation ${operationId} is limited per user but has no requireSession`);
    }
    const limiter = perUser && pending ? [] : limiterOf(operation);
    chains.push({
      operation,
      handlers: [
        ...(perUser ? [] : limiter),
        ...turnstileOf(operation),
        ...before,
        ...(perUser ? limiter : []),
        handler,
      ],
    });
  };

  for (const definition of routes) {
    add(definition.operationId, definition.before, definition.handler);
  }
  for (const operationId of pending) {
    const notImplemented = () => {
      throw new AppError('system:not_implemented', `${operationId} is not implemented yet`);
    };
    add(operationId, [], notImplemented, true);
  }
  return chains;
}

/**
 * Runs `router` only for requests to one of `paths`, which must have no parameters: every
 * other request passes by on one lookup instead of a match against each of its routes.
 */
export function forExactPaths(
  paths: Iterable<string>,
  router: Router,
): RequestHandler & { router: Router } {
  const exact = new Set(paths);
  const guard: RequestHandler = (req, res, next) => {
    if (exact.has(req.path)) router(req, res, next);
    else next();
  };
  return Object.assign(guard, { router });
}

/** Mounts each chain at the method and path the contract gives it (the probes, ahead of validation). */
export function buildRouter(...args: Parameters<typeof operationChains>): Router {
  const router = Router();
  for (const { operation, handlers } of operationChains(...args)) {
    router[operation.method](toExpressPath(operation.path), ...handlers);
  }
  return router;
}

export type OperationDispatcher = RequestHandler & {
  /** Each operation's chain, by operation id. */
  chains: ReadonlyMap<string, OperationChain>;
};

/**
 * Runs the chain of the operation the contract validator matched (`req.openapi`), found by
 * its id in one lookup: the validator has already matched the method and path against the
 * contract, so matching them again against every route, one after another, would only repeat
 * its work. Each chain runs as a series, so handlers' errors and rejections reach the error
 * handler as on any route, with the path parameters the validator parsed.
 */
export function buildOperationDispatcher(
  ...args: Parameters<typeof operationChains>
): OperationDispatcher {
  const chains = new Map<string, OperationChain>();
  const runners = new Map<string, RequestHandler>();
  for (const chain of operationChains(...args)) {
    chains.set(chain.operation.operationId, chain);
    runners.set(chain.operation.operationId, series(...chain.handlers));
  }
  const dispatch: RequestHandler = (req, res, next) => {
    const { openapi } = req as {
      openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
    };
    const run = openapi?.schema?.operationId && runners.get(openapi.schema.operationId);
    if (!run) return next();
    // The operation's parameters, as the validator parsed them from the contract's path.
    req.params = openapi.pathParams ?? {};
    return run(req, res, next);
  };
  return Object.assign(dispatch, { chains });
}
