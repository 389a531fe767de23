/**
 * Stripe's webhook signature scheme (https://docs.stripe.com/webhooks#verify-manually): the
 * `Stripe-Signature` header holds `t=<unix seconds>` and one or more `v1=<hex>` (more than one while a
 * signing secret is being rolled), each an HMAC-SHA256, keyed with the endpoint's whole `whsec_...` secret,
 * of `<t>.<raw body>`. The body is used as the bytes received: re-serialized JSON would not verify.
 *
 * The signature is checked first, then the timestamp, so only a correctly signed request learns that its
 * timestamp was refused. Every failure to verify (no header, a malformed one, no matching signature) is the
 * same answer. Timestamps more than TOLERANCE_SECONDS away from the clock, past or future, are refused:
 * a captured request cannot be replayed later, and one from a skewed clock is not trusted early.
 */
import { timingSafeEqualStrings, toHex } from '../../lib/crypto';

export const TOLERANCE_SECONDS = 300;

export type SignatureVerdict = 'valid' | 'invalid_signature' | 'signature_expired';

const encoder = new TextEncoder();

function parseHeader(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at === -1) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && timestamp === null && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1') signatures.push(value);
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

async function hmacHex(secret: string, timestamp: number, payload: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const prefix = encoder.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.byteLength + payload.byteLength);
  signed.set(prefix);
  signed.set(payload, prefix.byteLength);
  return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, signed)));
}

/**
 * @param nowMs the clock, in ms since the epoch (injected by tests)
 * @example await verifyStripeSignature(body, req.headers.get('Stripe-Signature'), secret, Date.now())
 */
export async function verifyStripeSignature(
  payload: Uint8Array,
  header: string | null | undefined,
  secret: string,
  nowMs: number,
): Promise<SignatureVerdict> {
  const parsed = header ? parseHeader(header) : null;
  if (!parsed) return 'invalid_signature';
  const expected = await hmacHex(secret, parsed.timestamp, payload);
  // Every candidate is compared, in constant time each, so the answer's timing does not say which one matched.
  const matches = parsed.signatures.map((candidate) => timingSafeEqualStrings(expected, candidate));
  if (!matches.includes(true)) return 'invalid_signature';
  return Math.abs(Math.floor(nowMs / 1000) - parsed.timestamp) > TOLERANCE_SECONDS
    ? 'signature_expired'
    : 'valid';
}
