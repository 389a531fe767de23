/**
 * Saved addresses. Everything but the country is personal data and is stored as one encrypted JSON blob; every
 * query is scoped by the owner's id, so another customer's address id is simply not found. One account holds at
 * most MAX_ADDRESSES, so its list and export stay small.
 */

import type { z } from '@hono/zod-openapi';
import { and, count, eq, ne, type SQL, sql } from 'drizzle-orm';
import { customerAddresses } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { decryptField, encryptField } from '../../lib/encryption';
import { conflict, notFound } from '../../lib/errors';
import { type IdempotencyClaim, idempotencyRecord } from '../../lib/idempotency';
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
 * Setting a default clears the flag on the owner's other addresses, in the same batch and only where `applies`
 * holds (the address exists; for a create, the cap leaves room for it), so a refused write clears nothing.
 */
function clearDefaults(
  db: Database,
  customerId: string,
  id: string,
  input: Partial<AddressInput>,
  applies: SQL,
) {
  const others = and(eq(customerAddresses.customerId, customerId), ne(customerAddresses.id, id), applies);
  return [
    ...(input.is_default_shipping
      ? [db.update(customerAddresses).set({ isDefaultShipping: false }).where(others)]
      : []),
    ...(input.is_default_billing
      ? [db.update(customerAddresses).set({ isDefaultBilling: false }).where(others)]
      : []),
  ];
}

const addressExists = (id: string) =>
  sql`EXISTS (SELECT 1 FROM ${customerAddresses} WHERE ${customerAddresses.id} = ${id})`;

/**
 * Saves an address. The answer is computed before the batch, because a request with an Idempotency-Key stores
 * it in the same batch (src/lib/idempotency.ts).
 */
export async function createAddress(
  env: Env,
  caller: Caller,
  customerId: string,
  input: AddressInput,
  idempotency?: IdempotencyClaim,
): Promise<AddressView> {
  const db = createDb(env.DB);
  if ((await addressCount(db, customerId)) >= MAX_ADDRESSES) throw addressLimitReached();
  const now = new Date();
  const row: AddressRow = {
    id: newId('addr'),
    customerId,
    dataEncrypted: await encryptField(env, JSON.stringify(sealedFields(input))),
    countryCode: input.country_code,
    isDefaultShipping: input.is_default_shipping ?? false,
    isDefaultBilling: input.is_default_billing ?? false,
    createdAt: now,
    updatedAt: now,
  };
  const view = await serializeAddress(env, row);
  // The cap holds even when creates race past the check above: the insert (last, so the change is conditional
  // on it) and the default-clearing before it run only while the account is under the cap.
  const underCap = sql`(SELECT count(*) FROM ${customerAddresses} WHERE ${customerAddresses.customerId} = ${customerId}) < ${MAX_ADDRESSES}`;
  const results = await commit(db, caller, {
    conditional: true,
    statements: [
      ...clearDefaults(db, customerId, row.id, input, underCap),
      insertRowIf(db, customerAddresses, row, underCap).returning({ id: customerAddresses.id }),
    ],
    idempotency: idempotencyRecord(idempotency, 201, view),
  });
  const inserted = results.at(-1) as { id: string }[];
  if (inserted.length === 0) throw addressLimitReached();
  return view;
}

export async function updateAddress(
  env: Env,
  caller: Caller,
  customerId: string,
  id: string,
  patch: Partial<AddressInput>,
  idempotency?: IdempotencyClaim,
): Promise<AddressView> {
  const db = createDb(env.DB);
  const before = await ownedAddress(db, customerId, id);
  const current = await serializeAddress(env, before);
  const merged = { ...current, ...patch } as AddressInput;
  const changes = {
    dataEncrypted: await encryptField(env, JSON.stringify(sealedFields(merged))),
    countryCode: merged.country_code,
    isDefaultShipping: merged.is_default_shipping ?? false,
    isDefaultBilling: merged.is_default_billing ?? false,
    updatedAt: new Date(),
  };
  const view = await serializeAddress(env, { ...before, ...changes });
  const update = db
    .update(customerAddresses)
    .set(changes)
    .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId)))
    .returning({ id: customerAddresses.id });
  const results = await commit(db, caller, {
    conditional: true,
    statements: [...clearDefaults(db, customerId, id, patch, addressExists(id)), update],
    idempotency: idempotencyRecord(idempotency, 200, view),
  });
  // Deleted by a concurrent request after the read above.
  if ((results.at(-1) as { id: string }[]).length === 0) throw notFound('Address');
  return view;
}

export async function deleteAddress(
  env: Env,
  caller: Caller,
  customerId: string,
  id: string,
  idempotency?: IdempotencyClaim,
): Promise<void> {
  const db = createDb(env.DB);
  await ownedAddress(db, customerId, id);
  // A concurrent delete of the same address leaves this one nothing to do; both answer 204.
  await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .delete(customerAddresses)
        .where(and(eq(customerAddresses.id, id), eq(customerAddresses.customerId, customerId))),
    ],
    idempotency: idempotencyRecord(idempotency, 204, null),
  });
}
