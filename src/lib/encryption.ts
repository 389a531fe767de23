/**
 * Field encryption for personal data at rest (phone numbers, addresses, TOTP secrets): AES-256-GCM with a random
 * 96-bit IV. Stored as `v1.<key id>.<iv>.<ciphertext>`; keys come from the DATA_ENCRYPTION_KEYS secret
 * (JSON array of { kid, key: base64 of 32 bytes }), the first encrypts and all decrypt, so a key rotates by
 * prepending a new one and re-encrypting at leisure.
 */
import { fromBase64Url, toBase64Url } from './encoding';

type Keyring = { active: { kid: string; key: CryptoKey }; byId: Map<string, CryptoKey> };

let memo: { source: string; keyring: Promise<Keyring> } | undefined;

async function loadKeyring(source: string): Promise<Keyring> {
  const entries = JSON.parse(source) as { kid?: unknown; key?: unknown }[];
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error('DATA_ENCRYPTION_KEYS must be a non-empty array');
  const byId = new Map<string, CryptoKey>();
  for (const { kid, key } of entries) {
    const raw = typeof key === 'string' ? fromBase64Url(key) : undefined;
    if (typeof kid !== 'string' || !/^[\w-]+$/.test(kid) || raw?.byteLength !== 32) {
      throw new Error('Every DATA_ENCRYPTION_KEYS entry needs a kid and a 32-byte base64 key');
    }
    byId.set(kid, await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
  }
  const first = entries[0]?.kid as string;
  return { active: { kid: first, key: byId.get(first) as CryptoKey }, byId };
}

function keyring(env: Env): Promise<Keyring> {
  if (memo?.source !== env.DATA_ENCRYPTION_KEYS) {
    memo = { source: env.DATA_ENCRYPTION_KEYS, keyring: loadKeyring(env.DATA_ENCRYPTION_KEYS) };
  }
  return memo.keyring;
}

export async function encryptField(env: Env, plaintext: string): Promise<string> {
  const { active } = await keyring(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    active.key,
    new TextEncoder().encode(plaintext),
  );
  return ['v1', active.kid, toBase64Url(iv), toBase64Url(new Uint8Array(ciphertext))].join('.');
}

export async function decryptField(env: Env, stored: string): Promise<string> {
  const [version, kid, iv, ciphertext] = stored.split('.');
  const key = kid ? (await keyring(env)).byId.get(kid) : undefined;
  if (version !== 'v1' || !key || !iv || !ciphertext) {
    throw new Error(`Cannot decrypt a field sealed with key "${kid ?? '?'}"`);
  }
  const plaintext = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64Url(iv) },
    key,
    fromBase64Url(ciphertext),
  );
  return new TextDecoder().decode(plaintext);
}
