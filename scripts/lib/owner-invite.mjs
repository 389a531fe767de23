/**
 * The SQL that creates an owner invitation, shared by scripts/create-owner.mjs (Node) and its test (workerd):
 * only Web Crypto, no Node APIs. The token is random (256 bits) and printed once; only its SHA-256 is stored,
 * exactly as the API's own invitations, so accepting goes through the ordinary endpoint and password hashing
 * happens only in the Worker.
 */

export const INVITE_TTL_MS = 72 * 3600 * 1000;
const EMAIL = /^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/;
const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The same `<prefix>_<ULID>` form as src/lib/ids.ts. */
function newId(prefix, now) {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ULID_ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => ULID_ALPHABET[b % 32]).join(
    '',
  );
  return `${prefix}_${time}${random}`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

async function sha256Hex(text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function normalizeEmail(input) {
  const email = String(input).trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) throw new Error(`"${input}" is not an email address.`);
  return email;
}

/** Counts what decides whether a bootstrap invite is appropriate. */
export function ownerCheckSql(email) {
  const address = normalizeEmail(email);
  return (
    "SELECT (SELECT count(*) FROM staff_users WHERE role = 'owner' AND status = 'active') AS owners, " +
    `(SELECT count(*) FROM staff_users WHERE email = '${address}') AS same_email`
  );
}

/** A new owner invitation for `email`: the token to hand over once, and the SQL that stores its hash. */
export async function ownerInvite(email, now = Date.now()) {
  const address = normalizeEmail(email);
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const id = newId('inv', now);
  const expiresAt = now + INVITE_TTL_MS;
  // Every interpolated value is generated here or matched the strict EMAIL pattern (no quotes possible).
  const sql = [
    `UPDATE staff_invites SET revoked_at = ${now} WHERE email = '${address}' AND accepted_at IS NULL AND revoked_at IS NULL;`,
    'INSERT INTO staff_invites (id, email, role, token_hash, invited_by, expires_at, created_at) VALUES ' +
      `('${id}', '${address}', 'owner', '${await sha256Hex(token)}', 'system', ${expiresAt}, ${now});`,
    'INSERT INTO audit_log (id, actor_type, actor_id, action, target_type, target_id, changes, created_at) VALUES ' +
      `('${newId('aud', now)}', 'system', 'create-owner', 'staff_invite.create', 'staff_invite', '${id}', ` +
      `'{"email":"${address}","role":"owner"}', ${now});`,
  ].join('\n');
  return { id, email: address, token, expiresAt, sql };
}
