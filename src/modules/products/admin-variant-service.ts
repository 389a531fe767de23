/**
 * Variant and price writes. A variant's option values must name exactly its product's options, and no two
 * variants of a product may carry the same values (checked up front, and again inside the batch of each write
 * that sets them: a product's own creation needs no guard, as nothing else can add variants to it before it
 * exists); prices follow the same currency rule as product creation.
 *
 * Each write is audited on the variant (`variant.create|update|delete|set_prices`) and raises product.updated
 * (aggregate `product`, payload `{ id: <product id>, variant_id }`): variants and prices are part of the product.
 * A variant's new prices also go to its product's live topic after the commit (`price`, src/lib/live-publish.ts).
 */
import { and, asc, eq, max, ne, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { prices, productOptions, variants } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit, type DomainEvent } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { productTopic } from '../../lib/live-messages';
import { liveFollowUp } from '../../lib/live-publish';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { refreshStorefront } from '../storefront/projection';
import {
  assertCurrenciesSold,
  assertProductExists,
  assertSkusFree,
  variantOptionsTaken,
} from './admin-checks';
import { optionsKey, optionsMismatch } from './admin-options';
import { getVariant } from './admin-read';
import type { VariantRow } from './admin-rows';
import * as rows from './admin-rows';
import type {
  AdminVariant,
  CreateVariantInput,
  PriceInput,
  UpdateVariantInput,
} from './admin-variant-schemas';

const pricePointers = (list: PriceInput[]) =>
  list.map((p, i) => ({ pointer: `/body/prices/${i}/currency`, value: p.currency }));

/** 422 unless `values` fit the product's options; 409 if another variant already has them. */
async function assertOptionsFit(
  db: Database,
  productId: string,
  values: Record<string, string>,
  exceptVariantId?: string,
): Promise<void> {
  const [optionRows, siblings] = await db.batch([
    db
      .select({ name: productOptions.name })
      .from(productOptions)
      .where(eq(productOptions.productId, productId))
      .orderBy(asc(productOptions.position)),
    db
      .select({ options: variants.options })
      .from(variants)
      .where(
        exceptVariantId === undefined
          ? eq(variants.productId, productId)
          : and(eq(variants.productId, productId), ne(variants.id, exceptVariantId)),
      ),
  ]);
  const mismatch = optionsMismatch(
    optionRows.map((o) => o.name),
    values,
  );
  if (mismatch) {
    throw new AppError(422, 'validation_failed', 'The variant options do not match the product.', {
      errors: [{ pointer: '/body/options', message: mismatch }],
    });
  }
  const key = optionsKey(values);
  if (siblings.some((s) => optionsKey(s.options) === key)) throw variantOptionsTaken();
}

/**
 * Fails the batch when variant `id`, as the batch has just written it, has the option values of another variant
 * of its product: only then it inserts a row of defaults, which the NOT NULL columns refuse, so the change's
 * recheck answers with assertOptionsFit's 409. The up-front check cannot see a concurrent write: two requests
 * giving two variants the same values each pass it alone. The values are compared as sets of name-value pairs,
 * as optionsKey does, because a variant's options are stored in the key order its request gave them.
 */
function optionsStayUnique(db: Database, id: string): BatchItem<'sqlite'> {
  return insertRowIf(
    db,
    variants,
    {},
    sql`EXISTS (
      SELECT 1 FROM variants mine
      JOIN variants other ON other.product_id = mine.product_id AND other.id <> mine.id
      WHERE mine.id = ${id}
        AND (SELECT count(*) FROM json_each(mine.options)) = (SELECT count(*) FROM json_each(other.options))
        AND NOT EXISTS (
          SELECT 1 FROM json_each(mine.options) m
          WHERE NOT EXISTS (SELECT 1 FROM json_each(other.options) o WHERE o.key = m.key AND o.value = m.value)
        )
    )`,
  );
}

/** The live `price` event of a variant whose prices were just set, sent after the commit. */
const livePrices = (env: Env, productId: string, variantId: string, list: PriceInput[]) =>
  liveFollowUp(env.LIVE_CHANNEL, productTopic(productId), {
    type: 'price',
    data: { product_id: productId, variant_id: variantId, prices: list },
  });

/** The event every variant write raises: its product changed. */
const productUpdated = (productId: string, variantId: string): DomainEvent => ({
  type: 'product.updated',
  aggregateType: 'product',
  aggregateId: productId,
  payload: { id: productId, variant_id: variantId },
});

async function checkCreate(db: Database, productId: string, input: CreateVariantInput): Promise<void> {
  await assertProductExists(db, productId);
  await assertCurrenciesSold(db, pricePointers(input.prices));
  await assertOptionsFit(db, productId, input.options);
  await assertSkusFree(db, [{ pointer: '/body/sku', value: input.sku }]);
}

export async function createVariant(
  env: Env,
  caller: Caller,
  productId: string,
  input: CreateVariantInput,
  fields: string[],
): Promise<AdminVariant> {
  const db = createDb(env.DB);
  await checkCreate(db, productId, input);
  const last = await db
    .select({ position: max(variants.position) })
    .from(variants)
    .where(eq(variants.productId, productId))
    .get();
  const id = newId('var');
  const position = (last?.position ?? -1) + 1;
  const now = new Date();
  await commit(db, caller, {
    statements: [
      ...rows.insertVariants(db, productId, [{ id, input }], position, now),
      optionsStayUnique(db, id),
      ...refreshStorefront(db, { products: [productId] }),
    ],
    audit: {
      action: 'variant.create',
      targetType: 'variant',
      targetId: id,
      changes: auditChanges(variants, fields, null, rows.variantRow(productId, id, input, position, now)),
    },
    events: [productUpdated(productId, id)],
    recheck: () => checkCreate(db, productId, input),
    versions: CatalogVersionBump.product(db, productId),
    afterCommit: [livePrices(env, productId, id, input.prices)],
  });
  return getVariant(db, id);
}

async function findVariant(db: Database, id: string): Promise<VariantRow> {
  const row = await db.select().from(variants).where(eq(variants.id, id)).get();
  if (!row) throw notFound('Variant');
  return row;
}

/** The variant as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, input: UpdateVariantInput): Promise<VariantRow> {
  const before = await findVariant(db, id);
  if (input.options) await assertOptionsFit(db, before.productId, input.options, id);
  if (input.sku !== undefined) await assertSkusFree(db, [{ pointer: '/body/sku', value: input.sku }], id);
  return before;
}

export async function updateVariant(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateVariantInput,
  fields: string[],
): Promise<AdminVariant> {
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const patch = {
    sku: input.sku,
    title: input.title,
    options: input.options,
    weightGrams: input.weight_grams,
    barcode: input.barcode,
    position: input.position,
    updatedAt: new Date(),
  };
  await commit(db, caller, {
    statements: [
      db.update(variants).set(patch).where(eq(variants.id, id)),
      ...(input.options ? [optionsStayUnique(db, id)] : []),
      ...refreshStorefront(db, { products: [before.productId] }),
    ],
    audit: {
      action: 'variant.update',
      targetType: 'variant',
      targetId: id,
      changes: auditChanges(variants, fields, before, applyPatch(before, patch)),
    },
    events: [productUpdated(before.productId, id)],
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
    versions: CatalogVersionBump.product(db, before.productId),
  });
  return getVariant(db, id);
}

export async function deleteVariant(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await findVariant(db, id);
  const remove = db.delete(variants).where(eq(variants.id, id)).returning({ id: variants.id });
  const results = await commit(db, caller, {
    conditional: true,
    // The conditional delete must stay last, so the product's storefront rows are rebuilt before it, without
    // the variant.
    statements: [...refreshStorefront(db, { products: [before.productId], withoutVariant: id }), remove],
    audit: {
      action: 'variant.delete',
      targetType: 'variant',
      targetId: id,
      changes: auditChanges(variants, [], before, null),
    },
    events: [productUpdated(before.productId, id)],
    versions: CatalogVersionBump.product(db, before.productId),
  });
  const deleted = results.at(-1) as Awaited<typeof remove>;
  if (deleted.length === 0) throw notFound('Variant');
}

/** The variant as it is before its prices are replaced, once the new list is known to be allowed. */
async function checkPrices(db: Database, id: string, list: PriceInput[]): Promise<VariantRow> {
  const before = await findVariant(db, id);
  await assertCurrenciesSold(db, pricePointers(list));
  return before;
}

export async function replacePrices(
  env: Env,
  caller: Caller,
  id: string,
  list: PriceInput[],
  fields: string[],
): Promise<AdminVariant> {
  const db = createDb(env.DB);
  const before = await checkPrices(db, id, list);
  const patch = { updatedAt: new Date() };
  await commit(db, caller, {
    statements: [
      db.update(variants).set(patch).where(eq(variants.id, id)),
      db.delete(prices).where(eq(prices.variantId, id)),
      ...rows.insertPrices(db, id, list),
      ...refreshStorefront(db, { products: [before.productId] }),
    ],
    audit: {
      action: 'variant.set_prices',
      targetType: 'variant',
      targetId: id,
      changes: auditChanges(variants, fields, before, applyPatch(before, patch)),
    },
    events: [productUpdated(before.productId, id)],
    recheck: async () => {
      await checkPrices(db, id, list);
    },
    versions: CatalogVersionBump.product(db, before.productId),
    afterCommit: [livePrices(env, before.productId, id, list)],
  });
  return getVariant(db, id);
}
