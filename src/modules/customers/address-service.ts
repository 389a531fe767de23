/**
 * Saved addresses. Everything but the country is personal data and is stored as one encrypted JSON blob; every
 * query is scoped by the owner's id, so another customer's address id is simply not found. One account holds at
 * most MAX_ADDRESSES, so its list and export stay small.
 */

import type { z } from '@hono/zod-openapi';
import { and, count, eq, ne, sql } from 'drizzle-orm';
import { customerAddresses } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { decryptField, encryptField } from '../../lib/encryption';
import { conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { afterCursor, paginate } from '../../lib/pagination';
import { type AddressInputSchema, type AddressView, MAX_ADDRESSES } from './schemas';

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

const SORT = 'id';

/** The owner's addresses, oldest first (ids are time-ordered), at most MAX_ADDRESSES: what the export holds. */
export function listAddressRows(db: Database, customerId: string): Promise<AddressRow[]> {
  return db
    .select()
    .from(customerAddresses)
    .where(eq(customerAddresses.customerId, customerId))
    .orderBy(customerAddresses.id)
    .limit(MAX_ADDRESSES)
    .all();
}

/** One page of the owner's addresses, oldest first, behind an id cursor. */
export async function listAddressPage(
  env: Env,
  customerId: string,
  query: { limit: number; cursor?: string | undefined },
) {
  const rows = await createDb(env.DB)
    .select()
    .from(customerAddresses)
    .where(
      and(
        eq(customerAddresses.customerId, customerId),
        afterCursor(customerAddresses.id, query.cursor, SORT),
      ),
    )
    .orderBy(customerAddresses.id)
    .limit(query.limit + 1)
    .all();
  const page = paginate(rows, query.limit, SORT, (row) => [row.id]);
  return { data: await Promise.all(page.data.map((row) => serializeAddress(env, row))), page: page.page };
}

const addressLimitReached = () =>
  conflict(
    'address_limit_reached',
    `An account can save at most ${MAX_ADDRESSES} addresses; delete one to add another.`,
  );

async function addressCount(db: Database, customerId: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(customerAddresses)
    .where(eq(customerAddresses.customerId, customerId))
    .get();
  return row?.n ?? 0;
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

/**
 * Setting a default clears the flag on the owner's other addresses in the same batch, after the address itself
 * was written, and only if it exists: a create refused by the cap clears nothing.
 */
function clearDefaults(db: Database, customerId: string, id: string, input: Partial<AddressInput>) {
  const others = and(
    eq(customerAddresses.customerId, customerId),
    ne(customerAddresses.id, id),
    sql`EXISTS (SELECT 1 FROM ${customerAddresses} WHERE ${customerAddresses.id} = ${id})`,
  );
  return [
    ...(input.is_default_shipping
      ? [db.update(customerAddresses).set({ isDefaultShipping: false }).where(others)]
      : []),
    ...(input.is_default_billing
      ? [db.update(customerAddresses).set({ isDefaultBilling: false }).where(others)]
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
  if ((await addressCount(db, customerId)) >= MAX_ADDRESSES) throw addressLimitReached();
  const id = newId('addr');
  const now = Date.now();
  // INSERT ... SELECT ... WHERE count < cap: the cap holds even when creates race past the check above. The
  // values follow the table's column order (a column added to it makes this statement fail, never misfile).
  const insert = db.insert(customerAddresses).select(
    sql`SELECT ${id}, ${customerId}, ${await encryptField(env, JSON.stringify(sealedFields(input)))},
      ${input.country_code}, ${input.is_default_shipping ? 1 : 0}, ${input.is_default_billing ? 1 : 0}, ${now}, ${now}
    WHERE (SELECT count(*) FROM ${customerAddresses} WHERE ${customerAddresses.customerId} = ${customerId})
      < ${MAX_ADDRESSES}`,
  );
  await commit(db, caller, { statements: [insert, ...clearDefaults(db, customerId, id, input)] });
  const created = await db
    .select()
    .from(customerAddresses)
    .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId)))
    .get();
  if (!created) throw addressLimitReached();
  return created;
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
  await commit(db, caller, { statements: [update, ...clearDefaults(db, customerId, id, patch)] });
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
