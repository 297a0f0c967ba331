import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_PASSWORD } from '../../seeds/data/dev-users.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, uniqueHandle, type CreatedUser } from '../support/factories.ts';

/** Kept after the run (.stack is not committed), for a person to look at. */
const ARTIFACTS = fileURLToPath(new URL('../../.stack/test/artifacts/', import.meta.url));
const SCREENSHOT = path.join(ARTIFACTS, 'swagger-ui-get-me.png');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let app: TestApp;
let alice: CreatedUser;
let profile: string;
let browser: BrowserContext;

beforeAll(async () => {
  app = await startTestApp({ http: { apiDocsEnabled: true } });
  // Like the dev stack's alice: the documented password, a verified account.
  alice = await createUser(app.deps, { handle: uniqueHandle('alice'), password: DEV_PASSWORD });
  profile = await mkdtemp(path.join(tmpdir(), 'expresskit-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
});
afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await app?.close();
});

/** Opens an operation, presses "Try it out" and "Execute", and returns the live answer. */
async function tryItOut(operation: Locator, body?: string) {
  await operation.locator('.opblock-summary').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  if (body !== undefined) await operation.locator('textarea.body-param__text').fill(body);
  await operation.getByRole('button', { name: 'Execute' }).click();
  const live = operation.locator('.live-responses-table .response');
  await live.waitFor();
  return {
    status: (await live.locator('.response-col_status').textContent())?.trim(),
    body: await live.locator('.response-col_description pre').first().textContent(),
  };
}

describe('Swagger UI in a browser', () => {
  it('When a newcomer signs in with login and then calls getMe from /docs alone, then Swagger UI shows their own profile', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.baseUrl}/docs/`);

    const login = page.locator('#operations-Auth-login');
    const signedIn = await tryItOut(
      login,
      JSON.stringify({ email: alice.user.email, password: DEV_PASSWORD }),
    );
    expect(signedIn.status).toBe('204');

    const getMe = page.locator('#operations-Users-getMe');
    const me = await tryItOut(getMe);
    expect(me.status).toBe('200');
    expect(JSON.parse(me.body ?? '')).toMatchObject({
      id: alice.user.id,
      email: alice.user.email,
      handle: alice.user.handle,
    });
    // The operation's x-error-codes are part of what the newcomer reads.
    await expect(getMe.locator('.opblock-description').textContent()).resolves.toContain(
      'auth:unauthorized',
    );

    await mkdir(ARTIFACTS, { recursive: true });
    await getMe.screenshot({ path: SCREENSHOT });
  }, 60_000);
});
