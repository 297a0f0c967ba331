import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import type { ActionLogRow, UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, uniqueHandle } from '../support/factories.ts';
import { emailJobsTo } from '../support/outbox.ts';
import { newSignUp, signUp, type SignUpBody } from './support/sign-up.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const usersWithEmail = (email: string) =>
  app.deps.db.write<UserRow>('users').whereRaw('lower(email) = lower(?)', [email]);

const indexJobsFor = async (userId: string) =>
  app.deps.db
    .write('outbox')
    .where({ subject: jobStreams.indexUser.subject })
    .whereRaw("payload->>'user_id' = ?", [userId])
    .select('payload');

const ACCEPTED = { message: 'Check your inbox to verify your email address.' };

describe('POST /v0/users', () => {
  it('When the sign-up is valid, then it answers 201 and stores an unverified user with an argon2id password', async () => {
    const input = newSignUp();

    const { status, body } = await signUp(app.baseUrl, input);

    expect(status).toBe(201);
    expect(body).toEqual(ACCEPTED);
    const [user] = await usersWithEmail(input.email);
    expect(user).toMatchObject({
      handle: input.handle,
      display_name: input.display_name,
      email: input.email,
      bio: null,
      verified_at: null,
    });
    const [, algorithm, , params] = user!.password!.split('$');
    expect(algorithm).toBe('argon2id');
    expect(params?.split(',').sort()).toEqual(['m=19456', 'p=1', 't=2']);
    expect(user!.password).not.toContain(input.password);
  });

  it('When the sign-up commits, then the user:create log, the verification email job and the index job are written with it', async () => {
    const input = newSignUp();

    expect((await signUp(app.baseUrl, input)).status).toBe(201);

    const [user] = await usersWithEmail(input.email);
    const logs = await app.deps.db
      .write<ActionLogRow>('action_logs')
      .where({ resource_id: user!.id });
    expect(logs).toEqual([
      expect.objectContaining({
        action: 'user:create',
        actor_id: user!.id,
        actor_ip: expect.stringMatching(/127\.0\.0\.1$/) as unknown,
        resource_type: 'user',
      }),
    ]);
    const emails = await emailJobsTo(app.deps.db.write, input.email);
    expect(emails).toEqual([
      {
        to: input.email,
        template: 'verification',
        vars: {
          token: expect.stringMatching(/^[0-9a-f-]{36}\.[\w-]{43}$/) as unknown,
          display_name: input.display_name,
        },
      },
    ]);
    expect(await indexJobsFor(user!.id)).toEqual([
      { payload: { user_id: user!.id, action: 'index' } },
    ]);
  });

  it('When the email has capitals, then it is stored lowercased and a differently cased duplicate creates nothing', async () => {
    const input = newSignUp();
    const shouted = input.email.toUpperCase();

    expect((await signUp(app.baseUrl, { ...input, email: shouted })).status).toBe(201);
    const again = await signUp(app.baseUrl, { ...newSignUp(), email: input.email });

    expect(again.status).toBe(201);
    const users = await usersWithEmail(input.email);
    expect(users.map((u) => u.email)).toEqual([input.email]);
  });

  it('When the email is already registered, then the answer is identical to a new sign-up and no second account is created (no enumeration)', async () => {
    const { user: existing } = await createUser(app.deps);
    const fresh = await signUp(app.baseUrl, newSignUp());
    const known = await signUp(app.baseUrl, newSignUp({ email: existing.email }));

    expect(known.status).toBe(fresh.status);
    expect(known.body).toEqual(fresh.body);
    expect([...known.response.headers.keys()].sort()).toEqual(
      [...fresh.response.headers.keys()].sort(),
    );
    const users = await usersWithEmail(existing.email);
    expect(users.map((u) => u.id)).toEqual([existing.id]);
  });

  it('When the email is already registered, then its owner gets one notice and no verification link, however often it is tried', async () => {
    const { user: existing } = await createUser(app.deps);

    await signUp(app.baseUrl, newSignUp({ email: existing.email }));
    await signUp(app.baseUrl, newSignUp({ email: existing.email }));

    const jobs = await emailJobsTo(app.deps.db.write, existing.email);
    expect(jobs).toEqual([
      {
        to: existing.email,
        template: 'notice',
        vars: {
          title: expect.stringContaining('sign up') as unknown,
          message: expect.stringContaining('nothing was created') as unknown,
        },
      },
    ]);
  });

  it('When the handle is taken in any letter case, then it answers 409 user:handle_already_exists and writes nothing', async () => {
    const { user: existing } = await createUser(app.deps, { handle: uniqueHandle('Taken') });
    const input = newSignUp({
      handle: existing.handle.toUpperCase(),
      email: `${uniqueHandle()}@example.test`,
    });

    const { status, body } = await signUp(app.baseUrl, input);

    expect(status).toBe(409);
    expect(body).toMatchObject({ status: 409, code: 'user:handle_already_exists' });
    expect(await usersWithEmail(input.email)).toEqual([]);
    expect(await emailJobsTo(app.deps.db.write, input.email)).toEqual([]);
  });

  it.each(['admin', 'Root', 'API', 'support', 'settings', 'null', 'undefined', 'signup'])(
    'When the handle is the reserved word %s, then it answers 409 user:handle_already_exists',
    async (handle) => {
      const input = newSignUp({ handle, email: `${uniqueHandle()}@example.test` });

      const { status, body } = await signUp(app.baseUrl, input);

      expect(status).toBe(409);
      expect(body).toMatchObject({ code: 'user:handle_already_exists' });
      expect(await usersWithEmail(input.email)).toEqual([]);
      expect(await emailJobsTo(app.deps.db.write, input.email)).toEqual([]);
    },
  );

  it('When the same handle is registered twice at once, then one sign-up wins and the other gets 409 with no outbox rows', async () => {
    const handle = uniqueHandle('race');
    const inputs = [newSignUp({ handle }), newSignUp({ handle: handle.toUpperCase() })];
    inputs[1]!.email = `other-${inputs[0]!.email}`;

    const results = await Promise.all(inputs.map((input) => signUp(app.baseUrl, input)));

    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = inputs[results.findIndex((r) => r.status === 409)]!;
    expect(await usersWithEmail(loser.email)).toEqual([]);
    expect(await emailJobsTo(app.deps.db.write, loser.email)).toEqual([]);
  });

  it('When the same email is registered twice at once, then both get 201 and exactly one account exists', async () => {
    const email = `${uniqueHandle('dup')}@example.test`;

    const results = await Promise.all([
      signUp(app.baseUrl, newSignUp({ email })),
      signUp(app.baseUrl, newSignUp({ email })),
    ]);

    expect(results.map((r) => r.status)).toEqual([201, 201]);
    expect(results[0]?.body).toEqual(results[1]?.body);
    expect(await usersWithEmail(email)).toHaveLength(1);
  });

  it.each([
    ['a handle shorter than 3', { handle: 'ab' }, 'body.handle'],
    ['a handle longer than 20', { handle: 'a'.repeat(21) }, 'body.handle'],
    ['a handle with a leading underscore', { handle: '_ada' }, 'body.handle'],
    ['a handle with a trailing underscore', { handle: 'ada_' }, 'body.handle'],
    ['a handle with a hyphen', { handle: 'ada-l' }, 'body.handle'],
    ['a display name with a control character', { display_name: 'Ada\u0007' }, 'body.display_name'],
    ['a display name with a newline', { display_name: 'Ada\nLovelace' }, 'body.display_name'],
    ['an empty display name', { display_name: '' }, 'body.display_name'],
    ['a display name over 50 characters', { display_name: 'x'.repeat(51) }, 'body.display_name'],
    ['a password under 12 characters', { password: 'short-pw' }, 'body.password'],
    ['a password over 128 characters', { password: 'p'.repeat(129) }, 'body.password'],
    ['a password of 129 four-byte characters', { password: '😀'.repeat(129) }, 'body.password'],
    ['an invalid email', { email: 'not-an-email' }, 'body.email'],
  ])(
    'When the sign-up has %s, then it answers 400 general:validation_error naming the field',
    async (_case, override, field) => {
      const input = newSignUp(override);

      const { status, body } = await signUp(app.baseUrl, input);

      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'general:validation_error' });
      expect((body as { details: string }).details).toContain(field);
      expect(await emailJobsTo(app.deps.db.write, input.email)).toEqual([]);
    },
  );

  it('When a field is missing or unknown, then it answers 400 general:validation_error', async () => {
    const missing: Partial<SignUpBody> = newSignUp();
    delete missing.password;
    const extra = { ...newSignUp(), is_admin: true };

    for (const body of [missing, extra]) {
      const response = await signUp(app.baseUrl, body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'general:validation_error' });
    }
  });
});
