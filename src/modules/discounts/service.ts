/**
 * Discount codes, written by staff under `discounts:manage`; every write is audited as
 * `discount.create|update|delete`. Codes are unique without regard to case (stored upper-cased; the unique index
 * decides a race). A discount that orders have redeemed cannot be deleted, because the redemptions are the
 * record of what those orders were given: deactivate it instead (409 `discount_in_use`). Settings, not catalog:
 * no domain events.
 */
import { eq } from 'drizzle-orm';
import { discountRedemptions, discounts, regions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { pointersTo, unknownReferences } from '../../lib/catalog-fields';
import { commit } from '../../lib/commit';
import { missingIds, valueTaken } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, type FieldError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { findDiscount, timesUsed } from './read';
import {
  type CreateDiscountInput,
  type DiscountRow,
  type DiscountView,
  serializeDiscount,
  type UpdateDiscountInput,
} from './schemas';

type DiscountColumns = Omit<DiscountRow, 'id' | 'createdAt' | 'updatedAt'>;

/** What is wrong with a discount as a whole (after an update, with the fields it did not send). */
function termErrors(d: DiscountColumns): FieldError[] {
  const errors: FieldError[] = [];
  const needs = (field: string, message: string) => errors.push({ pointer: `/body/${field}`, message });
  if (d.type === 'percentage') {
    if (d.percentageBps === null) needs('percentage_bps', 'A percentage discount needs percentage_bps');
    if (d.amount !== null) needs('amount', 'A percentage discount has no amount; send null');
  } else {
    if (d.amount === null) needs('amount', 'A fixed discount needs an amount');
    if (d.currencyCode === null) needs('currency', 'A fixed discount needs the currency of its amount');
    if (d.percentageBps !== null) needs('percentage_bps', 'A fixed discount has no percentage; send null');
  }
  if (d.minimumSubtotal !== null && d.currencyCode === null) {
    needs('currency', 'A minimum subtotal needs the currency it is counted in');
  }
  if (d.startsAt && d.endsAt && d.endsAt.getTime() <= d.startsAt.getTime()) {
    needs('ends_at', 'Must be after starts_at');
  }
  return errors;
}

async function assertValid(db: Database, d: DiscountColumns, id?: string): Promise<void> {
  const errors = termErrors(d);
  if (errors.length > 0) {
    throw new AppError(422, 'validation_failed', 'The discount’s terms are not consistent.', { errors });
  }
  const missing = await missingIds(db, regions.id, d.regionIds ?? []);
  if (missing.size > 0)
    throw unknownReferences(pointersTo('region_ids', d.regionIds ?? [], missing, 'region'));
  if (await valueTaken(db, discounts.code, d.code, discounts.id, id)) {
    throw conflict('code_taken', `Another discount already has the code "${d.code}".`);
  }
}

/** An ISO instant as a Date; null (clear) and undefined (not sent) pass through. */
function instant(value: string | null | undefined): Date | null | undefined {
  return value === null || value === undefined ? value : new Date(value);
}

/** The columns an update body sets; a field left out stays undefined and is not written. */
function discountColumns(input: UpdateDiscountInput): Partial<DiscountColumns> {
  return {
    code: input.code,
    type: input.type,
    percentageBps: input.percentage_bps,
    amount: input.amount,
    currencyCode: input.currency,
    minimumSubtotal: input.minimum_subtotal,
    startsAt: instant(input.starts_at),
    endsAt: instant(input.ends_at),
    usageLimit: input.usage_limit,
    usageLimitPerCustomer: input.usage_limit_per_customer,
    regionIds: input.region_ids,
    active: input.active,
  };
}

export async function createDiscount(
  env: Env,
  caller: Caller,
  input: CreateDiscountInput,
  fields: string[],
): Promise<DiscountView> {
  const db = createDb(env.DB);
  const now = new Date();
  const row: DiscountRow = {
    id: newId('disc'),
    code: input.code,
    type: input.type,
    percentageBps: input.percentage_bps ?? null,
    amount: input.amount ?? null,
    currencyCode: input.currency ?? null,
    minimumSubtotal: input.minimum_subtotal ?? null,
    startsAt: instant(input.starts_at) ?? null,
    endsAt: instant(input.ends_at) ?? null,
    usageLimit: input.usage_limit ?? null,
    usageLimitPerCustomer: input.usage_limit_per_customer ?? null,
    regionIds: input.region_ids ?? null,
    active: input.active ?? true,
    createdAt: now,
    updatedAt: now,
  };
  await assertValid(db, row);
  await commit(db, caller, {
    statements: [db.insert(discounts).values(row)],
    audit: {
      action: 'discount.create',
      targetType: 'discount',
      targetId: row.id,
      changes: auditChanges(discounts, fields, null, row),
    },
    recheck: () => assertValid(db, row),
  });
  return serializeDiscount(row, 0);
}

export async function updateDiscount(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateDiscountInput,
  fields: string[],
): Promise<DiscountView> {
  const db = createDb(env.DB);
  const before = await findDiscount(db, id);
  const patch = { ...discountColumns(input), updatedAt: new Date() };
  const after = applyPatch(before, patch);
  await assertValid(db, after, id);
  const [updated] = await commit(db, caller, {
    conditional: true,
    statements: [db.update(discounts).set(patch).where(eq(discounts.id, id)).returning({ id: discounts.id })],
    audit: {
      action: 'discount.update',
      targetType: 'discount',
      targetId: id,
      changes: auditChanges(discounts, fields, before, after),
    },
    recheck: () => assertValid(db, after, id),
  });
  if (updated.length === 0) throw notFound('Discount');
  return serializeDiscount(after, await timesUsed(db, id));
}

async function assertUnused(db: Database, id: string): Promise<void> {
  const used = await db
    .select({ id: discountRedemptions.id })
    .from(discountRedemptions)
    .where(eq(discountRedemptions.discountId, id))
    .get();
  if (used) {
    throw conflict(
      'discount_in_use',
      'Orders have redeemed this discount; deactivate it instead of deleting it.',
    );
  }
}

export async function deleteDiscount(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await findDiscount(db, id);
  await assertUnused(db, id);
  const [deleted] = await commit(db, caller, {
    conditional: true,
    statements: [db.delete(discounts).where(eq(discounts.id, id)).returning({ id: discounts.id })],
    audit: {
      action: 'discount.delete',
      targetType: 'discount',
      targetId: id,
      changes: auditChanges(discounts, [], before, null),
    },
    // A redemption committed after the check makes the restricting foreign key fail the delete.
    recheck: () => assertUnused(db, id),
  });
  if (deleted.length === 0) throw notFound('Discount');
}
