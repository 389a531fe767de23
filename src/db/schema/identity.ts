/**
 * Identity: customers, staff, sessions (refresh-token families), one-time tokens, MFA, external identities,
 * audit log and the dev mailbox. Personal data that must be encrypted at rest (phone numbers, addresses, TOTP
 * secrets) is stored as `v1.<key id>.<iv>.<ciphertext>` text (src/lib/encryption.ts), so keys can rotate.
 * Secrets presented by clients (refresh tokens, reset/verify/invite tokens, recovery codes) are stored as SHA-256.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const createdAt = integer('created_at', { mode: 'timestamp_ms' })
  .notNull()
  .default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = integer('updated_at', { mode: 'timestamp_ms' })
  .notNull()
  .default(sql`(unixepoch('subsec') * 1000)`);

export const customers = sqliteTable('customers', {
  id: text('id').primaryKey(),
  /** Lower-cased; null once the account is erased (orders keep their own copy of what finance needs). */
  email: text('email').unique(),
  emailVerifiedAt: integer('email_verified_at', { mode: 'timestamp_ms' }),
  /** Versioned PBKDF2 hash; null for accounts that only sign in with an external provider. */
  passwordHash: text('password_hash'),
  firstName: text('first_name'),
  lastName: text('last_name'),
  phoneEncrypted: text('phone_encrypted'),
  locale: text('locale'),
  deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  createdAt,
  updatedAt,
});

export const customerAddresses = sqliteTable(
  'customer_addresses',
  {
    id: text('id').primaryKey(),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    /** The whole address (names, lines, city, postal code, phone...) as encrypted JSON. */
    dataEncrypted: text('data_encrypted').notNull(),
    /** Kept in clear for shipping-zone lookups; a country alone identifies no one. */
    countryCode: text('country_code').notNull(),
    isDefaultShipping: integer('is_default_shipping', { mode: 'boolean' }).notNull().default(false),
    isDefaultBilling: integer('is_default_billing', { mode: 'boolean' }).notNull().default(false),
    createdAt,
    updatedAt,
  },
  (t) => [index('customer_addresses_customer_idx').on(t.customerId)],
);

export const STAFF_ROLES = [
  'owner',
  'admin',
  'catalog_manager',
  'order_manager',
  'support',
  'read_only',
] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const staffUsers = sqliteTable(
  'staff_users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    role: text('role', { enum: STAFF_ROLES }).notNull(),
    status: text('status', { enum: ['active', 'disabled'] })
      .notNull()
      .default('active'),
    passwordHash: text('password_hash').notNull(),
    mfaSecretEncrypted: text('mfa_secret_encrypted'),
    mfaEnabledAt: integer('mfa_enabled_at', { mode: 'timestamp_ms' }),
    /** The last TOTP time step accepted: a code for this step or an earlier one is a replay. */
    mfaLastStep: integer('mfa_last_step'),
    createdAt,
    updatedAt,
  },
  // Listed newest first, by role or status (src/modules/staff/read.ts).
  (t) => [
    index('staff_users_created_idx').on(t.createdAt, t.id),
    index('staff_users_role_created_idx').on(t.role, t.createdAt, t.id),
    index('staff_users_status_created_idx').on(t.status, t.createdAt, t.id),
  ],
);

export const staffRecoveryCodes = sqliteTable(
  'staff_recovery_codes',
  {
    id: text('id').primaryKey(),
    staffId: text('staff_id')
      .notNull()
      .references(() => staffUsers.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: integer('used_at', { mode: 'timestamp_ms' }),
    createdAt,
  },
  (t) => [uniqueIndex('staff_recovery_codes_hash_uq').on(t.staffId, t.codeHash)],
);

export const staffInvites = sqliteTable(
  'staff_invites',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    role: text('role', { enum: STAFF_ROLES }).notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    invitedBy: text('invited_by').notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    acceptedAt: integer('accepted_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    createdAt,
  },
  (t) => [
    index('staff_invites_email_idx').on(t.email),
    // Revoking what a member or key granted finds their pending invitations (src/modules/grants).
    index('staff_invites_invited_by_idx').on(t.invitedBy),
    // Listed newest first, by status (src/modules/staff/read.ts): accepted, revoked, and open (pending or
    // expired, told apart by expiry as the page is read).
    index('staff_invites_created_idx').on(t.createdAt, t.id),
    index('staff_invites_open_created_idx')
      .on(t.createdAt, t.id)
      .where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
    // The pending ones, by expiry: where a search of them among the open ones can stop (the oldest's creation).
    index('staff_invites_open_expires_idx')
      .on(t.expiresAt, t.createdAt)
      .where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
    index('staff_invites_accepted_created_idx').on(t.createdAt, t.id).where(sql`accepted_at IS NOT NULL`),
    index('staff_invites_revoked_created_idx')
      .on(t.createdAt, t.id)
      .where(sql`accepted_at IS NULL AND revoked_at IS NOT NULL`),
  ],
);

export const PRINCIPAL_TYPES = ['customer', 'staff'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/** A login session = one refresh-token family. Revoking it ends every token descended from that login. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    principalType: text('principal_type', { enum: PRINCIPAL_TYPES }).notNull(),
    principalId: text('principal_id').notNull(),
    userAgent: text('user_agent'),
    createdAt,
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    revokedReason: text('revoked_reason', {
      enum: ['logout', 'revoked', 'reuse_detected', 'password_changed', 'erased', 'evicted'],
    }),
  },
  (t) => [index('sessions_principal_idx').on(t.principalType, t.principalId)],
);

/**
 * Failed sign-in attempts per (account, client network): a lock refuses only that network's attempts on that
 * account, so a stranger cannot lock the owner out. Rows are forgotten a day after their last failure and
 * deleted by a successful sign-in from the same network.
 */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    principalType: text('principal_type', { enum: PRINCIPAL_TYPES }).notNull(),
    principalId: text('principal_id').notNull(),
    /** The client's IPv4 address or IPv6 /64 prefix (src/modules/sessions/login-failures.ts). */
    network: text('network').notNull(),
    failures: integer('failures').notNull(),
    lockedUntil: integer('locked_until', { mode: 'timestamp_ms' }),
    lastFailureAt: integer('last_failure_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalType, t.principalId, t.network] })],
);

/** Every refresh token ever issued in a family; a token with `used_at` set presented again is a replay. */
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt,
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    usedAt: integer('used_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

/** Single-use, expiring tokens: sent by email (verification, reset) or handed out between staff login steps (MFA). */
export const oneTimeTokens = sqliteTable(
  'one_time_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    purpose: text('purpose', {
      enum: ['email_verification', 'password_reset', 'staff_mfa', 'staff_mfa_enrollment'],
    }).notNull(),
    principalType: text('principal_type', { enum: PRINCIPAL_TYPES }).notNull(),
    principalId: text('principal_id').notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    usedAt: integer('used_at', { mode: 'timestamp_ms' }),
    createdAt,
  },
  (t) => [index('one_time_tokens_principal_idx').on(t.principalType, t.principalId)],
);

/** External OpenID Connect issuers shoppers may sign in with. */
export const identityProviders = sqliteTable('identity_providers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  issuer: text('issuer').notNull().unique(),
  clientId: text('client_id').notNull(),
  jwksUrl: text('jwks_url').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  createdAt,
  updatedAt,
});

/** A customer's link to an external account: (issuer, sub) is the stable identity there. */
export const externalIdentities = sqliteTable(
  'external_identities',
  {
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    createdAt,
  },
  (t) => [
    primaryKey({ columns: [t.issuer, t.subject] }),
    index('external_identities_customer_idx').on(t.customerId),
  ],
);

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: text('id').primaryKey(),
    actorType: text('actor_type', { enum: ['staff', 'secret_key', 'customer', 'system'] }).notNull(),
    actorId: text('actor_id').notNull(),
    /** Dotted verb, e.g. `product.update`, `staff.invite`. */
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    /** Before/after summary of the changed fields; never secrets. */
    changes: text('changes', { mode: 'json' }).$type<Record<string, unknown>>(),
    requestId: text('request_id'),
    createdAt,
  },
  // The log is kept forever and listed newest first: one index per filter, each ending in the sort's key, so a
  // page of any filter is a search that reads about a page (src/modules/audit/read.ts).
  (t) => [
    index('audit_log_created_idx').on(t.createdAt, t.id),
    index('audit_log_action_idx').on(t.action, t.createdAt, t.id),
    index('audit_log_actor_type_idx').on(t.actorType, t.createdAt, t.id),
    index('audit_log_actor_id_idx').on(t.actorId, t.createdAt, t.id),
    index('audit_log_target_type_idx').on(t.targetType, t.createdAt, t.id),
    index('audit_log_target_id_idx').on(t.targetId, t.createdAt, t.id),
  ],
);

/** Local development only: emails "sent" by the dev mail provider, listable at a dev-only endpoint. */
export const devMailbox = sqliteTable('dev_mailbox', {
  id: text('id').primaryKey(),
  to: text('to_address').notNull(),
  subject: text('subject').notNull(),
  text: text('text').notNull(),
  createdAt,
});
