/**
 * What a secret API key looks like and how a new one is made: `sk_<key id>_<secret>`, 32 random bytes of secret
 * in base64url, only SHA-256(secret) stored. Node scripts (key:create, dev) import this file directly, so its own
 * imports name their `.ts` files and reach only import-free modules.
 */
import { randomToken } from '../lib/encoding.ts';
import { sha256Hex } from '../lib/hash.ts';
import { newId } from '../lib/ids.ts';

export const SECRET_KEY_FORMAT = /^sk_(key_[0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

/** The row values and the one-time plaintext of a new secret key. */
export async function newSecretKey(): Promise<{ id: string; key: string; secretHash: string }> {
  const id = newId('key');
  const secret = randomToken(32);
  return { id, key: `sk_${id}_${secret}`, secretHash: await sha256Hex(secret) };
}
