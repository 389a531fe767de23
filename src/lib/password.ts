/**
 * Password hashing with PBKDF2-SHA256 from WebCrypto. Stored as `pbkdf2-sha256$v1$<iterations>$<salt>$<hash>`
 * so the parameters can be raised later: a login with an older format verifies, then reports `needsRehash`.
 * Production Workers refuse more than 100,000 PBKDF2 iterations per call (local workerd accepts more, so a
 * test pins the constant).
 */
import { timingSafeEqualBytes } from './crypto';
import { fromBase64Url, toBase64Url } from './encoding';

export const PBKDF2_ITERATIONS = 100_000;
const SCHEME = 'pbkdf2-sha256';
const VERSION = 'v1';
const SALT_BYTES = 16;
const HASH_BITS = 256;

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
      material,
      HASH_BITS,
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return [SCHEME, VERSION, PBKDF2_ITERATIONS, toBase64Url(salt), toBase64Url(hash)].join('$');
}

export async function verifyPassword(
  password: string,
  stored: string,
): Promise<{ valid: boolean; needsRehash: boolean }> {
  const [scheme, version, iterationsText, saltText, hashText] = stored.split('$');
  const iterations = Number(iterationsText);
  if (scheme !== SCHEME || version !== VERSION || !saltText || !hashText || !Number.isInteger(iterations)) {
    return { valid: false, needsRehash: false };
  }
  const expected = fromBase64Url(hashText);
  const actual = await derive(password, fromBase64Url(saltText), Math.min(iterations, PBKDF2_ITERATIONS));
  const valid = timingSafeEqualBytes(actual, expected);
  return { valid, needsRehash: valid && iterations < PBKDF2_ITERATIONS };
}

let dummyHash: Promise<string> | undefined;

/** Spends the same time as a real verification, so an unknown account answers as slowly as a wrong password. */
export async function dummyVerify(password: string): Promise<void> {
  dummyHash ??= hashPassword('edgecart-timing-equalizer');
  await verifyPassword(password, await dummyHash);
}
