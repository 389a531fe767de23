import { z } from '@hono/zod-openapi';
import { type apiKeys, STAFF_ROLES, type staffInvites, type staffUsers } from '../../db/schema';
import { Email } from '../../lib/email-address';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

const Role = z.enum(STAFF_ROLES).openapi({ example: 'catalog_manager' });

const idParam = (example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example }),
  });
export const StaffIdParam = idParam('stf_01JD3Q6C5W9ZK2M4T8R7XPN0AB');
export const InviteIdParam = idParam('inv_01JD3Q6C5W9ZK2M4T8R7XPN0AB');

export const StaffSchema = z
  .object({
    id: z.string().openapi({ example: 'stf_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    email: z.string(),
    name: z.string(),
    role: Role,
    status: z.enum(['active', 'disabled']),
    mfa_enabled: z.boolean(),
    created_at: z.string().openapi({ format: 'date-time' }),
    updated_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Staff');

export const StaffDetailSchema = StaffSchema.extend({
  api_keys: z
    .array(
      z.object({
        id: z.string().openapi({ example: 'key_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
        name: z.string(),
        permissions: z.array(z.string()),
        revoked_at: z.string().nullable().openapi({ format: 'date-time' }),
      }),
    )
    .openapi({
      description:
        'The secret keys this member created, newest first, revoked ones included. Disabling the member revokes ' +
        'them (and the keys they created); a role change revokes those holding more than the new role.',
    }),
}).openapi('StaffDetail');

export const StaffListQuery = z.object({
  role: Role.optional(),
  status: z.enum(['active', 'disabled']).optional(),
  ...PaginationQuery,
});

export const StaffPageSchema = z
  .object({ data: z.array(StaffSchema), page: PageInfoSchema })
  .openapi('StaffPage');

export const UpdateStaffBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    role: Role.optional(),
    status: z
      .enum(['active', 'disabled'])
      .optional()
      .openapi({ description: 'Disabling signs the member out everywhere' }),
  })
  .strict()
  // Only when nothing else is wrong: a body of unknown fields alone is about those fields, not an empty change.
  .refine((b) => Object.keys(b).length > 0, {
    message: 'Send at least one field to change.',
    when: (payload) => payload.issues.length === 0,
  })
  .openapi('UpdateStaff');

export const CreateInviteBody = z.object({ email: Email, role: Role }).strict().openapi('CreateStaffInvite');

export const InviteSchema = z
  .object({
    id: z.string().openapi({ example: 'inv_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    email: z.string(),
    role: Role,
    status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
    invited_by: z.string(),
    expires_at: z.string().openapi({ format: 'date-time' }),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('StaffInvite');

export const InviteListQuery = z.object({
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']).optional(),
  ...PaginationQuery,
});

export const InvitePageSchema = z
  .object({ data: z.array(InviteSchema), page: PageInfoSchema })
  .openapi('StaffInvitePage');

export function serializeStaff(row: typeof staffUsers.$inferSelect): z.infer<typeof StaffSchema> {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    mfa_enabled: row.mfaEnabledAt !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function serializeStaffDetail(
  row: typeof staffUsers.$inferSelect,
  keys: (typeof apiKeys.$inferSelect)[],
): z.infer<typeof StaffDetailSchema> {
  return {
    ...serializeStaff(row),
    api_keys: keys.map((key) => ({
      id: key.id,
      name: key.name,
      permissions: key.permissions ?? [],
      revoked_at: key.revokedAt?.toISOString() ?? null,
    })),
  };
}

export function inviteStatus(row: typeof staffInvites.$inferSelect, now = Date.now()) {
  if (row.acceptedAt) return 'accepted' as const;
  if (row.revokedAt) return 'revoked' as const;
  return row.expiresAt.getTime() <= now ? ('expired' as const) : ('pending' as const);
}

export function serializeInvite(row: typeof staffInvites.$inferSelect): z.infer<typeof InviteSchema> {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: inviteStatus(row),
    invited_by: row.invitedBy,
    expires_at: row.expiresAt.toISOString(),
    created_at: row.createdAt.toISOString(),
  };
}
