/**
 * Shipping options, per region: a flat price or weight tiers, optionally free over a subtotal. Staff write them
 * under `shipping:manage`; every write is audited as `shipping_option.create|update|delete`. Settings, not
 * catalog: no catalog version bump and no domain events. Deleting an option unsets it on the carts that chose
 * it (foreign key `ON DELETE SET NULL`); a cart then shows no option until the shopper picks another.
 */
import { eq } from 'drizzle-orm';
import { regions, shippingOptions, type WeightTier } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { unknownReferences } from '../../lib/catalog-fields';
import { commit } from '../../lib/commit';
import { missingIds } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, type FieldError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { findShippingOption } from './read';
import {
  type CreateShippingOptionInput,
  type ShippingOptionRow,
  type ShippingOptionView,
  serializeShippingOption,
  type UpdateShippingOptionInput,
} from './schemas';

type Pricing = Pick<ShippingOptionRow, 'priceType' | 'amount' | 'weightTiers'>;

/** What is wrong with an option's pricing as a whole (after an update, with the fields it did not send). */
function pricingErrors(pricing: Pricing): FieldError[] {
  if (pricing.priceType === 'flat') {
    return [
      ...(pricing.amount === null
        ? [{ pointer: '/body/amount', message: 'A flat option needs an amount' }]
        : []),
      ...(pricing.weightTiers === null
        ? []
        : [{ pointer: '/body/weight_tiers', message: 'Only a weight option has tiers; send null' }]),
    ];
  }
  const tiers = pricing.weightTiers;
  return [
    ...(pricing.amount === null
      ? []
      : [{ pointer: '/body/amount', message: 'A weight option is priced by its tiers; send null' }]),
    ...(tiers === null
      ? [{ pointer: '/body/weight_tiers', message: 'A weight option needs weight_tiers' }]
      : tiers.flatMap((tier, index) => {
          const previous = tiers[index - 1];
          return previous && tier.maxGrams <= previous.maxGrams
            ? [
                {
                  pointer: `/body/weight_tiers/${index}/max_weight_grams`,
                  message: 'Tiers must ascend by max_weight_grams',
                },
              ]
            : [];
        })),
  ];
}

function assertPricing(pricing: Pricing): void {
  const errors = pricingErrors(pricing);
  if (errors.length > 0) {
    throw new AppError(422, 'validation_failed', 'The option’s pricing is not consistent.', { errors });
  }
}

async function assertRegionExists(db: Database, regionId: string): Promise<void> {
  if ((await missingIds(db, regions.id, [regionId])).size > 0) {
    throw unknownReferences([{ pointer: '/body/region_id', message: `There is no region ${regionId}` }]);
  }
}

type TierInput = { max_weight_grams: number; amount: number };

/** Tiers as stored; null and undefined (not sent) pass through. */
function toTiers<T extends null | undefined>(tiers: TierInput[] | T): WeightTier[] | T {
  return tiers ? tiers.map((t) => ({ maxGrams: t.max_weight_grams, amount: t.amount })) : (tiers as T);
}

type OptionColumns = Omit<ShippingOptionRow, 'id' | 'regionId' | 'createdAt' | 'updatedAt'>;

/** The columns an update body sets; a field left out stays undefined and is not written. */
function optionColumns(input: UpdateShippingOptionInput): Partial<OptionColumns> {
  return {
    name: input.name,
    priceType: input.price_type,
    amount: input.amount,
    weightTiers: toTiers(input.weight_tiers),
    freeOver: input.free_over,
    active: input.active,
  };
}

export async function createShippingOption(
  env: Env,
  caller: Caller,
  input: CreateShippingOptionInput,
  fields: string[],
): Promise<ShippingOptionView> {
  const db = createDb(env.DB);
  const now = new Date();
  const row: ShippingOptionRow = {
    id: newId('ship'),
    regionId: input.region_id,
    name: input.name,
    priceType: input.price_type,
    amount: input.amount ?? null,
    weightTiers: toTiers(input.weight_tiers ?? null),
    freeOver: input.free_over ?? null,
    active: input.active ?? true,
    createdAt: now,
    updatedAt: now,
  };
  assertPricing(row);
  await assertRegionExists(db, input.region_id);
  await commit(db, caller, {
    statements: [db.insert(shippingOptions).values(row)],
    audit: {
      action: 'shipping_option.create',
      targetType: 'shipping_option',
      targetId: row.id,
      changes: auditChanges(shippingOptions, fields, null, row),
    },
    recheck: () => assertRegionExists(db, input.region_id),
  });
  return serializeShippingOption(row);
}

export async function updateShippingOption(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateShippingOptionInput,
  fields: string[],
): Promise<ShippingOptionView> {
  const db = createDb(env.DB);
  const before = await findShippingOption(db, id);
  const patch = { ...optionColumns(input), updatedAt: new Date() };
  const after = applyPatch(before, patch);
  assertPricing(after);
  const [updated] = await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .update(shippingOptions)
        .set(patch)
        .where(eq(shippingOptions.id, id))
        .returning({ id: shippingOptions.id }),
    ],
    audit: {
      action: 'shipping_option.update',
      targetType: 'shipping_option',
      targetId: id,
      changes: auditChanges(shippingOptions, fields, before, after),
    },
  });
  if (updated.length === 0) throw notFound('Shipping option');
  return serializeShippingOption(after);
}

export async function deleteShippingOption(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await findShippingOption(db, id);
  const [deleted] = await commit(db, caller, {
    conditional: true,
    statements: [
      db.delete(shippingOptions).where(eq(shippingOptions.id, id)).returning({ id: shippingOptions.id }),
    ],
    audit: {
      action: 'shipping_option.delete',
      targetType: 'shipping_option',
      targetId: id,
      changes: auditChanges(shippingOptions, [], before, null),
    },
  });
  if (deleted.length === 0) throw notFound('Shipping option');
}
