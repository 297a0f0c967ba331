import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** What importing a provider avatar found at its URL. */
export type AvatarDownload =
  | { kind: 'image'; bytes: Buffer }
  /** Gone for good (refused, missing, too large, not allowed): retrying would find the same. */
  | { kind: 'unavailable'; reason: string };

/** Where the worker may fetch an avatar from (WorkerConfig.avatarImport). */
export interface AvatarHostPolicy {
  /** Host names, exact or `*.suffix` (any subdomain of suffix, not suffix itself). */
  hosts: readonly string[];
  /**
   * Lets http and loopback addresses through, for tests that serve avatars from 127.0.0.1.
   * Private, link-local, unique-local and metadata addresses are refused even then.
   */
  allowLoopback: boolean;
}

export interface AvatarDownloadOptions {
  timeoutMs: number;
  /** The profile image upload limit: a bigger avatar is not worth downloading further. */
  maxBytes: number;
  policy: AvatarHostPolicy;
}

/** Provider CDNs redirect at most once or twice; a longer chain is not an avatar. */
const MAX_REDIRECTS = 3;

/** Everything that is not the public internet: a fetch there would reach our own network. */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16], // link-local, and the cloud metadata endpoint 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  // NAT64 addresses can carry any IPv4 address, the private ones included. (IPv4-mapped
  // ::ffff:a.b.c.d needs no rule: BlockList matches it against the IPv4 rules above.)
  ['64:ff9b::', 96],
  ['fc00::', 7], // unique-local (AWS's IPv6 metadata endpoint fd00:ec2::254 among them)
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

class RefusedAvatarUrl extends Error {}

function checkAddress(address: string, policy: AvatarHostPolicy): void {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (nonPublic.check(address, family)) {
    throw new RefusedAvatarUrl(`${address} is not a public address`);
  }
  if (loopback.check(address, family) && !policy.allowLoopback) {
    throw new RefusedAvatarUrl(`${address} is a loopback address`);
  }
}

function hostAllowed(hostname: string, hosts: readonly string[]): boolean {
  return hosts.some((pattern) =>
    pattern.startsWith('*.')
      ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1
      : hostname === pattern,
  );
}

/** Checks a URL the worker is about to fetch: the first one and every redirect's target. */
function checkUrl(url: URL, policy: AvatarHostPolicy): void {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback)) {
    throw new RefusedAvatarUrl(`${url.protocol} is not allowed`);
  }
  // URL keeps IPv6 literals in brackets.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!hostAllowed(hostname, policy.hosts)) {
    throw new RefusedAvatarUrl(`${hostname} is not an allowed avatar host`);
  }
  // An address literal is connected to without a lookup, so it is checked here.
  if (isIP(hostname) !== 0) checkAddress(hostname, policy);
}

/**
 * Resolves for the connection itself and refuses the host unless every address it resolves to
 * is public. Checking inside the socket's lookup (not with a lookup of our own before the
 * request) means the address checked is the address connected to: a host that answers a
 * public address to a first lookup and 127.0.0.1 to the next (DNS rebinding) gets no second
 * lookup to do it with. TLS still verifies the certificate against the host name.
 */
function guardedLookup(policy: AvatarHostPolicy): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      try {
        for (const { address } of addresses) checkAddress(address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) {
        (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
        return;
      }
      const [first] = addresses;
      callback(null, first!.address, first!.family);
    });
  };
}

function get(url: URL, policy: AvatarHostPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    request(url, {
      headers: { accept: 'image/*' },
      lookup: guardedLookup(policy),
      signal,
    })
      .on('response', resolve)
      .on('error', reject)
      .end();
  });
}

function parseUrl(url: string, base?: URL): URL {
  const parsed = URL.parse(url, base?.href);
  if (!parsed) throw new RefusedAvatarUrl('not a URL');
  return parsed;
}

const isRedirect = (status: number) => [301, 302, 303, 307, 308].includes(status);

async function readBody(response: IncomingMessage, maxBytes: number): Promise<AvatarDownload> {
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    response.destroy();
    return { kind: 'unavailable', reason: `${declared} bytes is over the limit` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    // A missing or wrong Content-Length is no reason to hold more than the limit in memory.
    if (size > maxBytes) {
      response.destroy();
      return { kind: 'unavailable', reason: `over ${maxBytes} bytes` };
    }
    chunks.push(chunk);
  }
  return { kind: 'image', bytes: Buffer.concat(chunks) };
}

/**
 * Downloads a provider avatar for the import job. A refusal (4xx), an oversized body, or a URL
 * or redirect outside the policy is final; a server error, a network failure or a timeout
 * throws, so the job is retried. Redirects are followed by hand so each hop is checked like
 * the first. Only the URL the provider gave is fetched, with no credentials of ours.
 */
export async function downloadAvatar(
  url: string,
  options: AvatarDownloadOptions,
): Promise<AvatarDownload> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    let target = parseUrl(url);
    for (let hop = 0; ; hop++) {
      checkUrl(target, options.policy);
      const response = await get(target, options.policy, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (isRedirect(status) && location !== undefined) {
        response.destroy();
        if (hop === MAX_REDIRECTS) {
          return { kind: 'unavailable', reason: `more than ${MAX_REDIRECTS} redirects` };
        }
        target = parseUrl(location, target);
        continue;
      }
      if (status >= 500) {
        response.destroy();
        throw new Error(`the avatar host answered HTTP ${status}`);
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        return { kind: 'unavailable', reason: `HTTP ${status}` };
      }
      return await readBody(response, options.maxBytes);
    }
  } catch (error) {
    if (error instanceof RefusedAvatarUrl) return { kind: 'unavailable', reason: error.message };
    // The request reports the abort as its own AbortError; the timeout is what happened.
    if (signal.aborted) throw signal.reason;
    throw error;
  }
}
