import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotp,
  otpauthUri,
  totpStep,
  verifyTotp,
} from '../../src/lib/totp';

/** RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890". */
const RFC_SEED = new TextEncoder().encode('12345678901234567890');
const RFC_VECTORS: [seconds: number, eightDigits: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(RFC_VECTORS)('matches the Appendix B SHA-1 vector at T=%i', async (seconds, expected) => {
    const step = totpStep(seconds * 1000);
    expect(await hotp(RFC_SEED, step, 8)).toBe(expected);
    expect(await hotp(RFC_SEED, step)).toBe(expected.slice(2));
  });

  it('round-trips base32 and rejects non-base32 text', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    expect(base32Decode(base32Encode(bytes))).toStrictEqual(bytes);
    expect(base32Encode(RFC_SEED)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq')).toStrictEqual(RFC_SEED);
    expect(base32Decode('GEZ1')).toBeNull();
  });

  it('generates 160-bit secrets', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(secret).not.toBe(generateTotpSecret());
  });

  const secret = base32Encode(RFC_SEED);
  const at = (seconds: number) => seconds * 1000;
  const codeAt = (seconds: number) => hotp(RFC_SEED, totpStep(at(seconds)));

  it('accepts the current step and one step either side, returning the matched step', async () => {
    const now = 1111111111;
    const step = totpStep(at(now));
    for (const offset of [-1, 0, 1]) {
      const code = await codeAt(now + offset * 30);
      expect(await verifyTotp(secret, code, { nowMs: at(now), lastStep: null })).toBe(step + offset);
    }
  });

  it('refuses codes two steps away, wrong codes and malformed codes', async () => {
    const now = 1111111111;
    for (const offset of [-2, 2]) {
      const code = await codeAt(now + offset * 30);
      expect(await verifyTotp(secret, code, { nowMs: at(now), lastStep: null })).toBeNull();
    }
    const right = await codeAt(now);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(await verifyTotp(secret, wrong, { nowMs: at(now), lastStep: null })).toBeNull();
    expect(await verifyTotp(secret, '12345', { nowMs: at(now), lastStep: null })).toBeNull();
    expect(await verifyTotp(secret, 'abcdef', { nowMs: at(now), lastStep: null })).toBeNull();
  });

  it('refuses a replay: a code for the last accepted step or an earlier one', async () => {
    const now = 1111111111;
    const step = totpStep(at(now));
    const code = await codeAt(now);
    expect(await verifyTotp(secret, code, { nowMs: at(now), lastStep: step })).toBeNull();
    const previous = await codeAt(now - 30);
    expect(await verifyTotp(secret, previous, { nowMs: at(now), lastStep: step - 1 })).toBeNull();
    const next = await codeAt(now + 30);
    expect(await verifyTotp(secret, next, { nowMs: at(now), lastStep: step })).toBe(step + 1);
  });

  it('builds the otpauth URI authenticator apps read', () => {
    expect(otpauthUri({ issuer: 'edgecart', account: 'ana@example.com', secret })).toBe(
      `otpauth://totp/edgecart:ana%40example.com?secret=${secret}&issuer=edgecart&algorithm=SHA1&digits=6&period=30`,
    );
  });
});
