import { Router, type RequestHandler } from 'express';
import { operations } from '../generated/operations.ts';
import { AppError } from '../shared/errors/app-error.ts';
import { requireSession } from '../modules/auth/session/session.port.ts';
import type { RateLimit } from './middleware/rate-limit.ts';
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
export function forJsonBodyOperations(parser: RequestHandler): Router {
  const router = Router();
  for (const operation of operations) {
    if (operation.jsonBody) router[operation.method](toExpressPath(operation.path), parser);
  }
  return router;
}

/** Mounts `handler` on one operation only, at the method and path the contract gives it. */
export function forOperation(operationId: OperationId, handler: RequestHandler): Router {
  const router = Router();
  const operation = findOperation(operationId);
  router[operation.method](toExpressPath(operation.path), handler);
  return router;
}

/** The contract's per-operation guards, each built once at start. */
export interface OperationGuards {
  /** Builds the limiter of an operation that declares `x-rate-limit`. */
  rateLimit?: (operationId: OperationId, rateLimit: RateLimit) => RequestHandler;
  /** Checks operations marked `x-turnstile`; `null` when no Turnstile secret is configured. */
  turnstile?: RequestHandler | null;
}

/**
 * Mounts every routed operation at the method and path the contract gives it, and every
 * operation the contract marks `x-pending` at a 501, so the API surface always equals the
 * contract. Routing an operation that is still marked pending is a start-up error.
 *
 * The contract's `x-rate-limit` and `x-turnstile` are applied here to every operation that
 * declares them, pending ones too, after request validation and before the route's own
 * middleware: the rate limit first, so a flood is cut before Turnstile calls Cloudflare. A
 * limit keyed by user (`key: user`) waits for the route's own middleware instead, since it is
 * requireSession that tells who the user is: such an operation refuses a caller without a
 * session (401) before it counts anything, and a flood of those costs a session lookup each. An operation that declares a guard the caller did
 * not supply is a start-up error, so a limit in the contract can never go unenforced.
 */
export function buildRouter(
  routes: RouteDefinition[],
  pending: readonly OperationId[] = operations
    .filter((op) => op.pending)
    .map((op) => op.operationId),
  guards: OperationGuards = {},
): Router {
  const router = Router();
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
  const mount = (
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
    router[operation.method](
      toExpressPath(operation.path),
      ...(perUser ? [] : limiter),
      ...turnstileOf(operation),
      ...before,
      ...(perUser ? limiter : []),
      handler,
    );
  };

  for (const definition of routes) {
    mount(definition.operationId, definition.before, definition.handler);
  }
  for (const operationId of pending) {
    const notImplemented = () => {
      throw new AppError('system:not_implemented', `${operationId} is not implemented yet`);
    };
    mount(operationId, [], notImplemented, true);
  }
  return router;
}
