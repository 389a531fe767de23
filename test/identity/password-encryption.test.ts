import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../src/lib/encoding';
import { decryptField, encryptField } from '../../src/lib/encryption';
import { dummyVerify, hashPassword, PBKDF2_ITERATIONS, verifyPassword } from '../../src/lib/password';

describe('password hashing', () => {
  it('stays within the 100,000 PBKDF2 iterations production Workers accept per call', () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000);
  });

  it('stores a versioned, salted hash that verifies only the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^pbkdf2-sha256\$v1\$100000\$[\w-]{22}\$[\w-]{43}$/);
    expect(await hashPassword('correct horse battery staple')).not.toBe(stored);
    expect(await verifyPassword('correct horse battery staple', stored)).toStrictEqual({
      valid: true,
      needsRehash: false,
    });
    expect(await verifyPassword('Correct horse battery staple', stored)).toStrictEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it('verifies older, weaker parameters and asks for a rehash', async () => {
    const stored = await hashPassword('pw-123456');
    const weaker = stored.replace('$100000$', '$1000$');
    const [, , , salt] = stored.split('$');
    // Recompute at 1,000 iterations with the same salt, as an older version would have stored.
    const material = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('pw-123456'),
      'PBKDF2',
      false,
      ['deriveBits'],
    );
    const params = { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt: fromBase64Url(salt as string) };
    const hash = toBase64Url(new Uint8Array(await crypto.subtle.deriveBits(params, material, 256)));
    const old = `${weaker.split('$').slice(0, 4).join('$')}$${hash}`;
    expect(await verifyPassword('pw-123456', old)).toStrictEqual({ valid: true, needsRehash: true });
  });

  it('refuses unknown formats instead of throwing', async () => {
    expect(await verifyPassword('x', 'bcrypt$2b$10$abc')).toStrictEqual({ valid: false, needsRehash: false });
    await expect(dummyVerify('anything')).resolves.toBeUndefined();
  });
});

describe('field encryption', () => {
  it('seals with the first key, opens with any, and never stores the plaintext', async () => {
    const sealed = await encryptField(env, '+49 30 1234567');
    const [first] = JSON.parse(env.DATA_ENCRYPTION_KEYS) as { kid: string }[];
    expect(sealed).toMatch(new RegExp(`^v1\\.${first?.kid}\\.[\\w-]{16}\\.[\\w-]+$`));
    expect(sealed).not.toContain('1234567');
    expect(await encryptField(env, '+49 30 1234567')).not.toBe(sealed);
    expect(await decryptField(env, sealed)).toBe('+49 30 1234567');
  });

  it('refuses a tampered ciphertext or an unknown key id', async () => {
    const sealed = await encryptField(env, 'secret');
    const parts = sealed.split('.');
    const flipped = `${parts.slice(0, 3).join('.')}.${(parts[3] as string).startsWith('A') ? 'B' : 'A'}${(parts[3] as string).slice(1)}`;
    await expect(decryptField(env, flipped)).rejects.toThrow();
    await expect(decryptField(env, sealed.replace(/^v1\.[\w-]+\./, 'v1.gone.'))).rejects.toThrow('gone');
  });
});
