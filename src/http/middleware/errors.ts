import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { components } from '../../generated/openapi.ts';
import { isDatabaseUnavailable } from '../../shared/db/unavailable.ts';
import { AppError, isAppError } from '../../shared/errors/app-error.ts';
import type { Logger } from '../../shared/logger.ts';

type ErrorBody = components['schemas']['Error'];

interface ValidatorIssue {
  path?: string;
  message?: string;
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  errors?: ValidatorIssue[];
  message?: string;
  headers?: Record<string, string>;
}

/**
 * A 405 must name the methods the path takes (RFC 9110, 15.5.6). The validator lists them as
 * the contract spells its operations' keys; methods are case-sensitive, and upper case.
 */
function allowHeader(error: HttpishError): Record<string, string> {
  const allow = error.headers?.Allow;
  if (!allow) return {};
  return {
    Allow: allow
      .split(/,\s*/)
      .map((method) => method.toUpperCase())
      .join(', '),
  };
}

/** Anything express-openapi-validator or body-parser throws carries an HTTP status. */
function fromHttpError(error: HttpishError): AppError | undefined {
  const status = error.status ?? error.statusCode;
  if (typeof status !== 'number') return undefined;
  if (error.type === 'entity.too.large' || status === 413) {
    return new AppError('general:payload_too_large', 'The request body is too large');
  }
  if (error.type === 'entity.parse.failed') {
    return new AppError('general:bad_request', 'The request body is not valid JSON');
  }
  switch (status) {
    case 400: {
      // Only the validator lists failing fields. Any other 400 is a request that could not be
      // read at all (a broken gzip body, a path that is not valid percent-encoding), which
      // breaks no field of the contract.
      if (!error.errors) {
        return new AppError('general:bad_request', error.message ?? 'The request is malformed');
      }
      const fields = error.errors.map((issue) => {
        const field = (issue.path ?? '').replace(
          /^\/(body|query|params|headers|cookies)\/?/,
          '$1.',
        );
        return `${field.replace(/\/$/, '').replace(/\//g, '.')} ${issue.message ?? 'is invalid'}`;
      });
      return new AppError(
        'general:validation_error',
        fields.length > 0 ? fields.join('; ') : (error.message ?? 'Invalid request'),
      );
    }
    case 404:
      return new AppError('general:not_found', 'No such route');
    case 405:
      return new AppError('general:method_not_allowed', 'Method not allowed on this route', {
        headers: allowHeader(error),
      });
    case 415:
      return new AppError(
        'general:unsupported_media_type',
        error.message ?? 'Unsupported media type',
      );
    default:
      return undefined;
  }
}

function isDatabaseError(error: unknown): boolean {
  // pg errors carry a five-character SQLSTATE code; knex wraps nothing, so this is reliable.
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in (error as object);
}

/**
 * While the database is out of reach every request that needs it fails the same way: the
 * first failure, and then one every this often, is logged at error with its stack; the rest
 * at warn, one line each, so an outage shows at once without one stack per request.
 */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export function notFound(): RequestHandler {
  return () => {
    throw new AppError('general:not_found', 'No such route');
  };
}

/** The one terminal error handler: every failure leaves as `{status, code, details}`. */
export function errorHandler(options: {
  logger: Logger;
  exposeInternalDetails: boolean;
}): ErrorRequestHandler {
  let outageLoggedAt = -Infinity;
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      // A late failure (e.g. after a timeout answered): the response is gone; only log it.
      if (!isAppError(error) || error.status >= 500) {
        options.logger.warn('error after response was sent', { err: error });
      }
      if (!res.writableEnded) next(error);
      return;
    }

    let appError: AppError;
    let databaseOutage = false;
    if (isAppError(error)) {
      appError = error;
    } else if (isDatabaseUnavailable(error)) {
      databaseOutage = true;
      // Checked before the SQLSTATE test: a server shutting down answers with one (57P01).
      appError = new AppError('system:dependency_unavailable', 'The database is unavailable', {
        cause: error,
      });
    } else if (isDatabaseError(error)) {
      appError = new AppError('system:database_error', (error as Error).message, { cause: error });
    } else {
      appError =
        fromHttpError(error as HttpishError) ??
        new AppError('system:internal_error', (error as Error)?.message ?? String(error), {
          cause: error,
        });
    }

    if (appError.status >= 500) {
      const request = { code: appError.code, method: req.method, path: req.path };
      const cause = appError.cause ?? appError;
      const now = Date.now();
      if (databaseOutage && now - outageLoggedAt >= OUTAGE_LOG_INTERVAL_MS) {
        outageLoggedAt = now;
        options.logger.error('database unavailable', { ...request, err: cause });
      } else if (appError.status === 501 || appError.status === 503) {
        // Expected operating states (pending routes, shedding load, a dependency down): one
        // line per request, without a stack.
        options.logger.warn('request failed', {
          ...request,
          error: cause instanceof Error ? cause.message : appError.message,
        });
      } else {
        options.logger.error('request failed', { ...request, err: cause });
      }
    }

    const body: ErrorBody = { status: appError.status, code: appError.code };
    if (appError.details && (appError.status < 500 || options.exposeInternalDetails)) {
      body.details = appError.details;
    }
    res.status(appError.status).set(appError.headers).json(body);
  };
}
