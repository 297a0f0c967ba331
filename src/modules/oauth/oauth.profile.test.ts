import { describe, expect, it } from 'vitest';
import { toAvatarUrl, toDisplayName, toEmail } from './oauth.profile.ts';

describe('provider profile fields', () => {
  it('When a provider name has control characters, runs of spaces or more than 50 characters, then it is made a valid display name', () => {
    expect(toDisplayName('  Grace\u0000\tHopper\u0085 ')).toBe('Grace Hopper');
    expect(toDisplayName('é'.repeat(60))).toBe('é'.repeat(50));
    expect(toDisplayName(`${'a'.repeat(49)} b`)).toBe('a'.repeat(49));
  });

  it('When a provider gives no usable name, then there is none', () => {
    for (const name of [undefined, null, 42, '', ' \u0007 '])
      expect(toDisplayName(name)).toBeNull();
  });

  it('When an email comes back, then it is trimmed and lowercased, and a non-address is refused', () => {
    expect(toEmail(' Grace@Example.COM ')).toBe('grace@example.com');
    for (const email of ['not an address', 'a@', 42, null]) expect(toEmail(email)).toBeNull();
  });

  it('When an avatar URL is not a web URL, then it is dropped', () => {
    expect(toAvatarUrl('https://avatars.githubusercontent.com/u/1?v=4')).toBe(
      'https://avatars.githubusercontent.com/u/1?v=4',
    );
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'not a url', 7]) {
      expect(toAvatarUrl(url)).toBeNull();
    }
  });
});
