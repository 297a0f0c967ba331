/** What importing a provider avatar found at its URL. */
export type AvatarDownload =
  | { kind: 'image'; bytes: Buffer }
  /** Gone for good (refused, missing, too large): retrying would find the same. */
  | { kind: 'unavailable'; reason: string };

export interface AvatarDownloadOptions {
  timeoutMs: number;
  /** The profile image upload limit: a bigger avatar is not worth downloading further. */
  maxBytes: number;
}

/**
 * Downloads a provider avatar for the import job. A refusal (4xx) or an oversized body is
 * final; a server error, a network failure or a timeout throws, so the job is retried. Only the
 * URL the provider gave is fetched, with no credentials of ours.
 */
export async function downloadAvatar(
  url: string,
  options: AvatarDownloadOptions,
): Promise<AvatarDownload> {
  const response = await fetch(url, {
    headers: { accept: 'image/*' },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new Error(`the avatar host answered HTTP ${response.status}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    return { kind: 'unavailable', reason: `HTTP ${response.status}` };
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > options.maxBytes) {
    await response.body.cancel();
    return { kind: 'unavailable', reason: `${declared} bytes is over the limit` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // A missing or wrong Content-Length is no reason to hold more than the limit in memory.
    if (size > options.maxBytes) {
      return { kind: 'unavailable', reason: `over ${options.maxBytes} bytes` };
    }
    chunks.push(Buffer.from(chunk));
  }
  return { kind: 'image', bytes: Buffer.concat(chunks) };
}
