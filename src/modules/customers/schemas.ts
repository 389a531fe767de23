import { z } from '@hono/zod-openapi';
import type { customers } from '../../db/schema';
import { Locale } from '../../lib/catalog-fields';
import { Email } from '../../lib/email-address';
import { decryptField } from '../../lib/encryption';
import { TokenResponseSchema } from '../sessions/schemas';

/** Long passphrases welcome; the upper bound keeps hashing cost bounded. */
export const Password = z
  .string()
  .min(10, 'Use at least 10 characters')
  .max(256)
  .openapi({ example: 'correct horse battery' });
const Name = z.string().trim().min(1).max(100);
const Phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9 ()-]{5,32}$/, 'A phone number, e.g. +49 30 1234567');

export const RegisterSchema = z
  .object({
    email: Email,
    password: Password,
    first_name: Name.optional(),
    last_name: Name.optional(),
    locale: Locale.optional(),
  })
  .strict()
  .openapi('CustomerRegistration');

export const LoginSchema = z
  .object({ email: Email, password: z.string().min(1).max(256) })
  .strict()
  .openapi('CustomerLogin');

export const TokenOnlySchema = z
  .object({ token: z.string().min(1).max(200) })
  .strict()
  .openapi('OneTimeToken');

export const PasswordResetRequestSchema = z.object({ email: Email }).strict().openapi('PasswordResetRequest');

export const PasswordResetSchema = z
  .object({ token: z.string().min(1).max(200), password: Password })
  .strict()
  .openapi('PasswordReset');

export const CustomerSchema = z
  .object({
    id: z.string().openapi({ example: 'cus_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    email: z.string().nullable().openapi({
      description:
        'Null for accounts from a provider that shares no email, or none the API takes (see sign-in)',
    }),
    email_verified: z.boolean(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    phone: z.string().nullable(),
    locale: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Customer');

export type CustomerView = z.infer<typeof CustomerSchema>;

/** What a customer may change about themselves; anything else (email, id, verification) is refused by name. */
export const CustomerUpdateSchema = z
  .object({
    first_name: Name.nullable().optional(),
    last_name: Name.nullable().optional(),
    phone: Phone.nullable().optional(),
    locale: Locale.nullable().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'Send at least one field to change')
  .openapi('CustomerUpdate');

/** Erasure's proof of a fresh authentication; `password` is required for accounts that have one. */
export const ErasureSchema = z
  .object({ password: z.string().min(1).max(256).optional() })
  .strict()
  .openapi('CustomerErasure');

export const AuthResultSchema = z
  .object({ customer: CustomerSchema, tokens: TokenResponseSchema })
  .openapi('CustomerAuthResult');

/** How many addresses one account may save: its list and export stay small. */
export const MAX_ADDRESSES = 50;

export const AddressInputSchema = z
  .object({
    first_name: Name,
    last_name: Name,
    company: z.string().trim().max(100).nullable().optional(),
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).nullable().optional(),
    city: z.string().trim().min(1).max(100),
    postal_code: z.string().trim().min(1).max(20),
    province: z.string().trim().max(100).nullable().optional(),
    country_code: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, e.g. DE'),
    phone: Phone.nullable().optional(),
    is_default_shipping: z.boolean().optional(),
    is_default_billing: z.boolean().optional(),
  })
  .strict()
  .openapi('AddressInput');

export const AddressUpdateSchema = AddressInputSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'Send at least one field to change')
  .openapi('AddressUpdate');

/** A postal address as stored and shown (saved, in carts, in orders): optional fields present, null when unset. */
export const postalAddressFields = {
  first_name: z.string(),
  last_name: z.string(),
  company: z.string().nullable(),
  line1: z.string(),
  line2: z.string().nullable(),
  city: z.string(),
  postal_code: z.string(),
  province: z.string().nullable(),
  country_code: z.string(),
  phone: z.string().nullable(),
};
export type PostalAddress = z.infer<z.ZodObject<typeof postalAddressFields>>;

export const AddressSchema = z
  .object({
    id: z.string(),
    ...postalAddressFields,
    is_default_shipping: z.boolean(),
    is_default_billing: z.boolean(),
    created_at: z.string(),
  })
  .openapi('Address');

export type AddressView = z.infer<typeof AddressSchema>;

export const AddressParams = z.object({
  id: z
    .string()
    .regex(/^addr_[0-9A-Z]{26}$/)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export type CustomerRow = typeof customers.$inferSelect;

export async function serializeCustomer(env: Env, row: CustomerRow): Promise<CustomerView> {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.emailVerifiedAt !== null,
    first_name: row.firstName,
    last_name: row.lastName,
    phone: row.phoneEncrypted ? await decryptField(env, row.phoneEncrypted) : null,
    locale: row.locale,
    created_at: row.createdAt.toISOString(),
  };
}
