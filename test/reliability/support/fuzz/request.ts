/** One HTTP request the fuzzer sends, byte for byte. */
export interface FuzzRequest {
  method: string;
  /** Path and query string as they go on the request line, already encoded. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Percent-encodes the UTF-8 bytes of `value`. Unlike encodeURIComponent it never throws: a lone
 * surrogate goes as the bytes of U+FFFD, as any UTF-8 encoder would send it.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out +=
      byte < 0x80 && UNRESERVED.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * What a header value can be on the wire: Node refuses control characters and anything past
 * Latin-1 in headers, so the UTF-8 bytes go as Latin-1 characters and controls are dropped.
 */
export function headerSafe(value: string): string {
  const latin1 = Buffer.from(value, 'utf8').toString('latin1');
  return [...latin1].filter((char) => char === '\t' || (char >= ' ' && char !== '\u007F')).join('');
}

export function queryString(entries: [string, string][]): string {
  if (entries.length === 0) return '';
  return `?${entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')}`;
}

/** A header parameter's quoted-string: quotes and backslashes escaped as quoted-pairs. */
const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/**
 * A multipart/form-data body of text fields and files. The boundary comes from the case's
 * generator, so a replayed seed sends the same bytes.
 */
export function multipartBody(
  parts: { name: string; value: string | Uint8Array; filename?: string; type?: string }[],
  boundary: string,
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const file = typeof part.value !== 'string';
    const disposition = `form-data; name=${quoted(part.name)}${
      file ? `; filename=${quoted(part.filename ?? 'upload.bin')}` : ''
    }`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${
          file ? `Content-Type: ${part.type ?? 'application/octet-stream'}\r\n` : ''
        }\r\n`,
      ),
      Buffer.from(part.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
