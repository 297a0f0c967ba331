/** POSTs JSON (with a session cookie when given) and parses the JSON answer; '' when empty. */
export async function postJson(baseUrl: string, path: string, body: unknown, cookie?: string) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { response, status: response.status, body: text ? (JSON.parse(text) as unknown) : '' };
}

/** `postJson` as `{status, body}` alone, for asserting a whole answer with one toEqual. */
export async function postAnswer(baseUrl: string, path: string, body: unknown, cookie?: string) {
  const answer = await postJson(baseUrl, path, body, cookie);
  return { status: answer.status, body: answer.body };
}

/** The status of GET /v0/user/me with a cookie: 200 while the session lives. */
export async function meStatus(baseUrl: string, cookie: string): Promise<number> {
  const response = await fetch(`${baseUrl}/v0/user/me`, { headers: { cookie } });
  await response.body?.cancel();
  return response.status;
}
