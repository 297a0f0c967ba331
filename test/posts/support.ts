import type { TestApp } from '../support/app.ts';
import { signedInClient } from '../support/client.ts';
import { createUser, type UserOverrides } from '../support/factories.ts';

/** A verified author with a signed-in client. */
export async function author(app: TestApp, overrides: UserOverrides = {}) {
  const { user, password } = await createUser(app.deps, overrides);
  const client = await signedInClient(app, { email: user.email, password: password! });
  return { user, client };
}

/** Creates a post through the API; throws unless it answers 201. */
export async function publish(
  client: Awaited<ReturnType<typeof author>>['client'],
  title: string,
  content = `Body of ${title}`,
) {
  const { data, response } = await client.POST('/v0/posts', { body: { title, content } });
  if (response.status !== 201 || !data) throw new Error(`create failed: ${response.status}`);
  return data;
}
