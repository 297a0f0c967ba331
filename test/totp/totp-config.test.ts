import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env-schema.ts';
import { loadServerConfig, serverEnvSpec } from '../../src/config/server.ts';
import { decryptTotpSecret, encryptTotpSecret } from '../../src/modules/totp/totp-crypto.ts';

/** Everything production requires, with real-looking values, plus `overrides`. */
function production(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const local = Object.fromEntries(
    Object.entries(serverEnvSpec).flatMap(([name, spec]) =>
      'local' in spec && spec.local !== undefined ? [[name, spec.local]] : [],
    ),
  );
  return {
    ...local,
    NODE_ENV: 'production',
    CORS_ALLOWED_ORIGINS: 'https://app.example.test',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    ...overrides,
  };
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadServerConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('TOTP configuration', () => {
  it('When nothing is set outside production, then a local 32-byte key and backup-code secret are used', () => {
    const { totp } = loadServerConfig({ NODE_ENV: 'test' });
    expect(totp.encryptionKey).toHaveLength(32);
    expect(totp.backupCodeSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('When the key is 64 hex digits or base64 of 32 bytes, then both decode to the same key', () => {
    const key = randomBytes(32);
    const fromHex = loadServerConfig({
      NODE_ENV: 'test',
      TOTP_ENCRYPTION_KEY: key.toString('hex'),
    });
    const fromBase64 = loadServerConfig({
      NODE_ENV: 'test',
      TOTP_ENCRYPTION_KEY: key.toString('base64'),
    });
    expect(fromHex.totp.encryptionKey.equals(key)).toBe(true);
    expect(fromBase64.totp.encryptionKey.equals(key)).toBe(true);
  });

  it('When the key is not 32 bytes, then the configuration is refused', () => {
    expect(
      problemsOf({ NODE_ENV: 'test', TOTP_ENCRYPTION_KEY: randomBytes(16).toString('hex') }),
    ).toEqual(['TOTP_ENCRYPTION_KEY: must be 32 bytes as 64 hex digits or base64']);
  });

  it('When production keeps the local TOTP values, then both are refused as placeholders', () => {
    expect(problemsOf(production({}))).toEqual(
      expect.arrayContaining([
        'TOTP_ENCRYPTION_KEY: is a placeholder; generate a random key',
        'TOTP_SECRET: is a placeholder; generate a random secret',
      ]),
    );
    const real = production({
      TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      TOTP_SECRET: randomBytes(32).toString('hex'),
    });
    expect(problemsOf(real).filter((problem) => problem.startsWith('TOTP_'))).toEqual([]);
  });
});

describe('TOTP secret encryption', () => {
  it('When a secret is encrypted twice, then the ciphertexts differ and both decrypt only under the same key', () => {
    const key = randomBytes(32);
    const first = encryptTotpSecret(key, 'JBSWY3DPEHPK3PXP');
    const second = encryptTotpSecret(key, 'JBSWY3DPEHPK3PXP');
    expect(first).not.toBe(second);
    expect(decryptTotpSecret(key, first)).toBe('JBSWY3DPEHPK3PXP');
    expect(decryptTotpSecret(key, second)).toBe('JBSWY3DPEHPK3PXP');
    expect(() => decryptTotpSecret(randomBytes(32), first)).toThrow();
  });
});
