import winston from 'winston';
import type { RuntimeEnvironment } from '../config/env-schema.ts';
import { requestContext } from './request-context.ts';

export type Logger = winston.Logger;

const withRequestContext = winston.format((info) => {
  const context = requestContext.getStore();
  if (context) {
    info.request_id ??= context.requestId;
    if (context.userId) info.user_id ??= context.userId;
  }
  return info;
});

function serializeError(error: Error): Record<string, unknown> {
  const { code } = error as Error & { code?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
    ...(error.cause instanceof Error ? { cause: serializeError(error.cause) } : {}),
  };
}

// Error properties are not enumerable, so `{ err }` would otherwise log as `{}`.
const withSerializedErrors = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) info[key] = serializeError(value);
  }
  return info;
});

const readable = winston.format.printf(({ level, message, timestamp, ...meta }) => {
  const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
  return `${String(timestamp)} ${level} ${String(message)}${rest}`;
});

/** JSON lines in production, one readable line per event elsewhere. */
export function createLogger(options: {
  env: RuntimeEnvironment;
  level: string;
  service: string;
}): Logger {
  const production = options.env === 'production';
  return winston.createLogger({
    level: options.level,
    defaultMeta: production ? { service: options.service } : undefined,
    format: winston.format.combine(
      withRequestContext(),
      withSerializedErrors(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      production
        ? winston.format.json()
        : winston.format.combine(winston.format.colorize(), readable),
    ),
    transports: [new winston.transports.Console()],
  });
}
