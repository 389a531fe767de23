/** Small WebCrypto helpers shared by API keys and tokens. */
// Hashing and random tokens live in import-free files (./hash, ./encoding) so Node scripts can share them.
export { randomToken } from './encoding';
export { sha256Hex, toHex } from './hash';

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their length, so a caller cannot learn a secret prefix by
 * timing. Uses the runtime's `crypto.subtle.timingSafeEqual` (a Workers extension).
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) {
    // Still spend the comparison, so unequal lengths do not answer faster.
    crypto.subtle.timingSafeEqual(left, left);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}
