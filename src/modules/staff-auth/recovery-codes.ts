/**
 * MFA recovery codes: ten per enrollment, shown once, stored as SHA-256, each usable once. A code is 16
 * Crockford base32 characters (80 bits, shown as four groups of four): enough that a leaked table of fast hashes
 * cannot be reversed by brute force, short enough to type. Input is normalized (case, separators, and the
 * letters Crockford reads as digits), so `abcd efgh-...` matches.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { staffRecoveryCodes } from '../../db/schema';
import { sha256Hex } from '../../lib/crypto';
import type { Database } from '../../lib/db';
import { newId } from '../../lib/ids';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 16;

function randomCode(): string {
  // 32 divides 256, so `byte % 32` is uniform.
  const bytes = crypto.getRandomValues(new Uint8Array(CODE_LENGTH));
  const chars = Array.from(bytes, (b) => ALPHABET[b % 32]).join('');
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}

/** The canonical form hashed and compared; null when it cannot be a recovery code. */
export function normalizeRecoveryCode(input: string): string | null {
  const canonical = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return canonical.length === CODE_LENGTH && [...canonical].every((ch) => ALPHABET.includes(ch))
    ? canonical
    : null;
}

/** New codes for `staffId`: the plaintext to show once, and the statements replacing any previous set. */
export async function newRecoveryCodes(db: Database, staffId: string) {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, randomCode);
  const rows = await Promise.all(
    codes.map(async (code) => ({
      id: newId('rcv'),
      staffId,
      codeHash: await sha256Hex(normalizeRecoveryCode(code) ?? code),
    })),
  );
  return {
    codes,
    statements: [
      db.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, staffId)),
      db.insert(staffRecoveryCodes).values(rows),
    ] as const,
  };
}

/** Uses up a code in one conditional write, so two concurrent uses cannot both succeed. */
export async function consumeRecoveryCode(
  db: Database,
  staffId: string,
  presented: string,
): Promise<boolean> {
  const canonical = normalizeRecoveryCode(presented);
  if (!canonical) return false;
  const used = await db
    .update(staffRecoveryCodes)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(staffRecoveryCodes.staffId, staffId),
        eq(staffRecoveryCodes.codeHash, await sha256Hex(canonical)),
        isNull(staffRecoveryCodes.usedAt),
      ),
    )
    .returning({ id: staffRecoveryCodes.id });
  return used.length === 1;
}
