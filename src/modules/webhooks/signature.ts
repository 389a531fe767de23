/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of random bytes,
 * and each request carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
 * space-separated list of `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per secret in force (two
 * while a rotated secret overlaps the new one), so a receiver accepts the request if any one verifies.
 */
import { fromBase64Url, toBase64 } from '../../lib/encoding';

const SECRET_PREFIX = 'whsec_';
/** 256 bits, the HMAC-SHA256 block's worth of key the spec allows (24 to 64 bytes). */
const SECRET_BYTES = 32;

const encoder = new TextEncoder();

export function newSigningSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

async function sign(secret: string, content: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    fromBase64Url(secret.slice(SECRET_PREFIX.length)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return `v1,${toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(content))))}`;
}

/** The three Standard Webhooks headers for `body`, signed with every secret in `secrets` (newest first). */
export async function signatureHeaders(
  id: string,
  sentAt: Date,
  body: string,
  secrets: readonly string[],
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(sentAt.getTime() / 1000));
  const signatures = await Promise.all(secrets.map((secret) => sign(secret, `${id}.${timestamp}.${body}`)));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}
