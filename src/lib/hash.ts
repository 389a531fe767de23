/**
 * SHA-256 as lowercase hex (how tokens, keys and invites are stored). No imports, so Node scripts can import
 * this file too (scripts/lib); the Worker reaches it through ./crypto.
 */
const encoder = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(value: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))));
}
