/**
 * Saved addresses. Everything but the country is personal data and is stored as one encrypted JSON blob; every
 * query is scoped by the owner's id, so another customer's address id is simply not found.
 */

import type { z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { customerAddresses } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { decryptField, encryptField } from '../../lib/encryption';
import { notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { AddressInputSchema, AddressView } from './schemas';

type AddressInput = z.infer<typeof AddressInputSchema>;
type AddressRow = typeof customerAddresses.$inferSelect;
type SealedFields = Omit<
  AddressView,
  'id' | 'country_code' | 'is_default_shipping' | 'is_default_billing' | 'created_at'
>;

function sealedFields(input: AddressInput): SealedFields {
  return {
    first_name: input.first_name,
    last_name: input.last_name,
    company: input.company ?? null,
    line1: input.line1,
    line2: input.line2 ?? null,
    city: input.city,
    postal_code: input.postal_code,
    province: input.province ?? null,
    phone: input.phone ?? null,
  };
}

export async function serializeAddress(env: Env, row: AddressRow): Promise<AddressView> {
  const fields = JSON.parse(await decryptField(env, row.dataEncrypted)) as SealedFields;
  return {
    id: row.id,
    ...fields,
    country_code: row.countryCode,
    is_default_shipping: row.isDefaultShipping,
    is_default_billing: row.isDefaultBilling,
    created_at: row.createdAt.toISOString(),
  };
}

export function listAddressRows(db: Database, customerId: string): Promise<AddressRow[]> {
  return db
    .select()
    .from(customerAddresses)
    .where(eq(customerAddresses.customerId, customerId))
    .orderBy(customerAddresses.id)
    .all();
}

async function ownedAddress(db: Database, customerId: string, id: string): Promise<AddressRow> {
  const row = await db
    .select()
    .from(customerAddresses)
    .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId)))
    .get();
  if (!row) throw notFound('Address');
  return row;
}

/** Setting a default clears the flag on the owner's other addresses in the same batch. */
function clearDefaults(db: Database, customerId: string, input: Partial<AddressInput>) {
  return [
    ...(input.is_default_shipping
      ? [
          db
            .update(customerAddresses)
            .set({ isDefaultShipping: false })
            .where(eq(customerAddresses.customerId, customerId)),
        ]
      : []),
    ...(input.is_default_billing
      ? [
          db
            .update(customerAddresses)
            .set({ isDefaultBilling: false })
            .where(eq(customerAddresses.customerId, customerId)),
        ]
      : []),
  ];
}

export async function createAddress(
  env: Env,
  caller: Caller,
  customerId: string,
  input: AddressInput,
): Promise<AddressRow> {
  const db = createDb(env.DB);
  const id = newId('addr');
  const insert = db.insert(customerAddresses).values({
    id,
    customerId,
    dataEncrypted: await encryptField(env, JSON.stringify(sealedFields(input))),
    countryCode: input.country_code,
    isDefaultShipping: input.is_default_shipping ?? false,
    isDefaultBilling: input.is_default_billing ?? false,
  });
  await commit(db, caller, { statements: [...clearDefaults(db, customerId, input), insert] });
  return ownedAddress(db, customerId, id);
}

export async function updateAddress(
  env: Env,
  caller: Caller,
  customerId: string,
  id: string,
  patch: Partial<AddressInput>,
): Promise<AddressRow> {
  const db = createDb(env.DB);
  const current = await serializeAddress(env, await ownedAddress(db, customerId, id));
  const merged = { ...current, ...patch } as AddressInput;
  const update = db
    .update(customerAddresses)
    .set({
      dataEncrypted: await encryptField(env, JSON.stringify(sealedFields(merged))),
      countryCode: merged.country_code,
      isDefaultShipping: merged.is_default_shipping ?? false,
      isDefaultBilling: merged.is_default_billing ?? false,
      updatedAt: new Date(),
    })
    .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId)));
  await commit(db, caller, { statements: [...clearDefaults(db, customerId, patch), update] });
  return ownedAddress(db, customerId, id);
}

export async function deleteAddress(env: Env, caller: Caller, customerId: string, id: string): Promise<void> {
  const db = createDb(env.DB);
  await ownedAddress(db, customerId, id);
  await commit(db, caller, {
    statements: [
      db
        .delete(customerAddresses)
        .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId))),
    ],
  });
}
