/** Small WebCrypto helpers shared by API keys and tokens. */
// Hashing and random tokens live in import-free files (./hash, ./encoding) so Node scripts can share them.
export { randomToken } from './encoding';
export { sha256Hex, toHex } from './hash';

const encoder = new TextEncoder();

/**
 * Compares two byte strings in time that depends only on their length, so a caller cannot learn a secret prefix
 * by timing. Uses the runtime's `crypto.subtle.timingSafeEqual` (a Workers extension). Every comparison of a
 * secret, hash, token or code goes through this or `timingSafeEqualStrings` (test/secret-comparisons.test.ts).
 */
export function timingSafeEqualBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.byteLength !== right.byteLength) {
    // Still spend the comparison, so unequal lengths do not answer faster.
    crypto.subtle.timingSafeEqual(left, left);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

/** `timingSafeEqualBytes` for strings (hex digests, codes), compared as UTF-8. */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  return timingSafeEqualBytes(encoder.encode(a), encoder.encode(b));
}
