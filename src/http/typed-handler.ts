import type { Request, RequestHandler, Response } from 'express';
import type { components, operations } from '../generated/openapi.ts';

export type OperationId = keyof operations;

type Op<K extends OperationId> = operations[K];
type Parameters<K extends OperationId> = Op<K>['parameters'];
type Part<P, Key extends string> =
  P extends Partial<Record<Key, infer V>>
    ? undefined extends V
      ? NonNullable<V> | Record<string, never>
      : V
    : never;

export type PathParams<K extends OperationId> = Part<Parameters<K>, 'path'>;
export type QueryParams<K extends OperationId> = Part<Parameters<K>, 'query'>;
export type RequestBody<K extends OperationId> =
  Op<K> extends {
    requestBody: { content: { 'application/json': infer B } };
  }
    ? B
    : Op<K> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? B | undefined
      : undefined;

type Responses<K extends OperationId> = Op<K>['responses'];
type JsonContent<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
type ErrorBody = components['schemas']['Error'];

/** Statuses a handler answers itself; error statuses are produced by throwing an AppError. */
type ReplyStatus<K extends OperationId> = {
  [S in keyof Responses<K>]: JsonContent<Responses<K>[S]> extends ErrorBody ? never : S;
}[keyof Responses<K>];

/** What a handler returns: one of the operation's own statuses with its exact body type. */
export type Reply<K extends OperationId> = {
  [S in ReplyStatus<K>]: JsonContent<Responses<K>[S]> extends undefined
    ? { status: S; body?: undefined; headers?: Record<string, string> }
    : { status: S; body: JsonContent<Responses<K>[S]>; headers?: Record<string, string> };
}[ReplyStatus<K>];

/** Returned by handlers that write the response themselves (streams, non-JSON bodies). */
export const responded = Symbol('responded');

export interface HandlerInput<K extends OperationId> {
  params: PathParams<K>;
  query: QueryParams<K>;
  body: RequestBody<K>;
  req: Request;
  res: Response;
}

export type TypedHandler<K extends OperationId> = (
  input: HandlerInput<K>,
) => Promise<Reply<K> | typeof responded>;

export interface RouteDefinition {
  operationId: OperationId;
  /** Route-specific middleware (session, rate limit, uploads) run before the handler. */
  before: RequestHandler[];
  handler: RequestHandler;
}

/**
 * Binds a handler to an operation of the contract. Its method and path come from the
 * contract, so a handler can only exist for an operation the contract declares, and its
 * inputs and reply are typed by the generated types.
 */
export function route<K extends OperationId>(
  operationId: K,
  handler: TypedHandler<K>,
  before: RequestHandler[] = [],
): RouteDefinition {
  return {
    operationId,
    before,
    handler: async (req, res) => {
      const reply = await handler({
        params: req.params as PathParams<K>,
        query: req.query as QueryParams<K>,
        body: req.body as RequestBody<K>,
        req,
        res,
      });
      if (reply === responded) return;
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status as number);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    },
  };
}
