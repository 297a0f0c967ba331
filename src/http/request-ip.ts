import type { Request } from 'express';
import { AppError } from '../shared/errors/app-error.ts';

/** The client's address: `req.ip` (proxy-aware per TRUST_PROXY), else the socket's peer. */
export function peerAddress(req: Request): string | undefined {
  return req.ip ?? req.socket.remoteAddress;
}

/** Express always knows the peer of a live request; the action log requires it. */
export function requestIp(req: Request): string {
  const ip = peerAddress(req);
  if (!ip) throw new AppError('general:bad_request', 'The client address is unknown');
  return ip;
}
