// The SQL that creates an owner invitation, shared by scripts/create-owner.mjs (Node) and its test (workerd), so
// Web Crypto only (ids, tokens and hashing are the Worker's own, from src/lib). The token is random (256 bits) and printed once; only its SHA-256 is stored, exactly as for the
// API's own invitations, so accepting goes through the ordinary endpoint and only the Worker hashes passwords.
import { randomToken } from '../../src/lib/encoding.ts';
import { sha256Hex } from '../../src/lib/hash.ts';
import { newId } from '../../src/lib/ids.ts';
import { INVITE_TTL_MS } from '../../src/modules/staff/invite-ttl.ts';
import { sqlText } from './sql.mjs';

export { INVITE_TTL_MS };

const EMAIL = /^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/;

export function normalizeEmail(input) {
  const email = String(input).trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) throw new Error(`"${input}" is not an email address.`);
  return email;
}

/** One row: how many active owners exist, and whether `email` already belongs to staff. */
export function ownerCheckSql(email) {
  return (
    "SELECT (SELECT count(*) FROM staff_users WHERE role = 'owner' AND status = 'active') AS owners, " +
    `(SELECT count(*) FROM staff_users WHERE email = ${sqlText(normalizeEmail(email))}) AS same_email`
  );
}

/** A new owner invitation for `email`: the token to hand over once, and the SQL that stores its hash. */
export async function ownerInvite(email, now = Date.now()) {
  const address = normalizeEmail(email);
  const token = randomToken(32);
  const id = newId('inv', now);
  const expiresAt = now + INVITE_TTL_MS;
  const changes = JSON.stringify({ email: address, role: 'owner' });
  const sql = [
    `UPDATE staff_invites SET revoked_at = ${now} WHERE email = ${sqlText(address)} AND accepted_at IS NULL AND revoked_at IS NULL;`,
    'INSERT INTO staff_invites (id, email, role, token_hash, invited_by, expires_at, created_at) VALUES ' +
      `(${sqlText(id)}, ${sqlText(address)}, 'owner', ${sqlText(await sha256Hex(token))}, 'system', ${expiresAt}, ${now});`,
    'INSERT INTO audit_log (id, actor_type, actor_id, action, target_type, target_id, changes, created_at) VALUES ' +
      `(${sqlText(newId('aud', now))}, 'system', 'create-owner', 'staff_invite.create', 'staff_invite', ${sqlText(id)}, ${sqlText(changes)}, ${now});`,
  ].join('\n');
  return { id, email: address, token, expiresAt, sql };
}
