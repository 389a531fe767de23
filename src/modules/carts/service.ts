/**
 * Creating a cart and changing its details (region, email, shipping address, shipping option, discount code).
 * Lines are in line-items.ts, merging at sign-in in merge.ts. Shoppers' writes are not audited (like saved
 * addresses); each raises an event in its batch: `cart.created` `{ id, region, customer_id }` and
 * `cart.updated` `{ id, fields }` (the body fields sent, or `["line_items"]`).
 *
 * A signed-in customer has at most one active cart (a partial unique index): creating a cart when they have
 * one answers that cart (200, not 201), so a storefront can call create on every sign-in.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { carts, customers, regionCountries, regions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { constraintFailure } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { encryptField } from '../../lib/encryption';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { RegionInfo } from '../../lib/store-context';
import { DISCOUNT_REFUSALS } from '../discounts/rules';
import { type CartRow, newCartToken } from './access';
import { type LoadedCart, type LocaleChains, priceCart, type RegionRow } from './load';
import { type CartAddressInput, type CreateCartInput, cartAddress, type UpdateCartInput } from './schemas';
import {
  afterGuard,
  assertWritable,
  cartRegionUnchanged,
  cartWriteGuard,
  finalStamp,
  recheckCartWrite,
} from './write-guard';

/** The region with `code`, or 422 `unknown_region` at /body/region. */
async function regionByCode(db: Database, code: string): Promise<RegionRow> {
  const row = await db.select().from(regions).where(eq(regions.code, code)).get();
  if (row) return row;
  throw new AppError(422, 'unknown_region', `There is no region "${code}".`, {
    errors: [{ pointer: '/body/region', message: 'Use a code from GET /v1/store/regions' }],
  });
}

/** The customer's cart that is open or being checked out, if they have one. */
export function activeCartOf(db: Database, customerId: string): Promise<CartRow | undefined> {
  return db
    .select()
    .from(carts)
    .where(and(eq(carts.customerId, customerId), inArray(carts.status, ['open', 'checking_out'])))
    .get();
}

export type CreatedCart = { loaded: LoadedCart; token: string | null; created: boolean };

export async function createCart(
  env: Env,
  caller: Caller,
  input: CreateCartInput,
  context: { storeRegion: RegionInfo; customerId: string | null; locales: LocaleChains },
): Promise<CreatedCart> {
  const db = createDb(env.DB);
  const { customerId, locales } = context;
  const existing = customerId ? await activeCartOf(db, customerId) : undefined;
  if (existing)
    return { loaded: await priceCart(env, db, existing, { locales }), token: null, created: false };

  const region = input.region
    ? await regionByCode(db, input.region)
    : {
        id: context.storeRegion.id,
        code: context.storeRegion.code,
        currencyCode: context.storeRegion.currencyCode,
      };
  const customer = customerId
    ? await db.select({ email: customers.email }).from(customers).where(eq(customers.id, customerId)).get()
    : undefined;
  const secret = customerId ? null : await newCartToken();
  const now = new Date();
  const row: CartRow = {
    id: newId('cart'),
    tokenHash: secret?.tokenHash ?? null,
    customerId,
    regionId: region.id,
    currencyCode: region.currencyCode,
    email: input.email ?? customer?.email ?? null,
    shippingAddressEncrypted: null,
    shippingCountry: null,
    shippingOptionId: null,
    discountCode: null,
    status: 'open',
    checkoutStartedAt: null,
    completedOrderId: null,
    completedAt: null,
    mergedIntoCartId: null,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await commit(db, caller, {
      statements: [db.insert(carts).values(row)],
      events: [
        {
          type: 'cart.created',
          aggregateType: 'cart',
          aggregateId: row.id,
          payload: { id: row.id, region: region.code, customer_id: customerId },
        },
      ],
    });
  } catch (error) {
    // The customer's other request created their cart first: that one is theirs.
    const winner = customerId && constraintFailure(error) ? await activeCartOf(db, customerId) : undefined;
    if (!winner) throw error;
    return { loaded: await priceCart(env, db, winner, { locales }), token: null, created: false };
  }
  return {
    loaded: await priceCart(env, db, row, { locales }),
    token: secret?.token ?? null,
    created: true,
  };
}

/** 422 `country_not_in_region` unless the address's country is served by the region. */
async function assertCountryInRegion(db: Database, address: CartAddressInput, regionId: string | null) {
  const served = regionId
    ? await db
        .select({ country: regionCountries.countryCode })
        .from(regionCountries)
        .where(
          and(eq(regionCountries.regionId, regionId), eq(regionCountries.countryCode, address.country_code)),
        )
        .get()
    : undefined;
  if (served) return;
  throw new AppError(422, 'country_not_in_region', 'The cart’s region does not ship to this country.', {
    errors: [
      { pointer: '/body/shipping_address/country_code', message: 'Use a country of the cart’s region' },
    ],
  });
}

/** The columns a PATCH may set. */
type CartChanges = Partial<
  Pick<
    CartRow,
    | 'regionId'
    | 'currencyCode'
    | 'email'
    | 'shippingAddressEncrypted'
    | 'shippingCountry'
    | 'shippingOptionId'
    | 'discountCode'
  >
>;

/**
 * The columns a PATCH sets: only those of the fields it sent (a region with its currency, and leaving the old
 * region's option), so a PATCH of other fields landing meanwhile is kept, not written back as this one read it.
 */
async function cartChanges(env: Env, db: Database, cart: CartRow, input: UpdateCartInput) {
  const changes: CartChanges = {};
  if (input.region !== undefined) {
    const region = await regionByCode(db, input.region);
    // An option belongs to one region: a move leaves none chosen unless the same request picks one.
    if (region.id !== cart.regionId) changes.shippingOptionId = null;
    changes.regionId = region.id;
    changes.currencyCode = region.currencyCode;
  }
  if (input.email !== undefined) changes.email = input.email;
  if (input.shipping_address !== undefined) {
    const address = input.shipping_address;
    if (address) await assertCountryInRegion(db, address, changes.regionId ?? cart.regionId);
    changes.shippingAddressEncrypted = address
      ? await encryptField(env, JSON.stringify(cartAddress(address)))
      : null;
    changes.shippingCountry = address?.country_code ?? null;
  }
  if (input.shipping_option_id !== undefined) changes.shippingOptionId = input.shipping_option_id;
  if (input.discount_code !== undefined) changes.discountCode = input.discount_code;
  return changes;
}

/** 422s for a chosen option or an entered code that the cart, as the PATCH leaves it, cannot use. */
function assertChoicesApply(loaded: LoadedCart, input: UpdateCartInput): void {
  if (input.shipping_option_id && loaded.shippingOption?.amount == null) {
    throw new AppError(
      422,
      'shipping_option_unavailable',
      'This shipping option does not apply to the cart.',
      {
        errors: [
          {
            pointer: '/body/shipping_option_id',
            message: 'Use one of GET /v1/store/carts/{id}/shipping-options',
          },
        ],
      },
    );
  }
  const refusal = input.discount_code ? loaded.discount?.refusal : null;
  if (refusal) {
    throw new AppError(422, refusal, DISCOUNT_REFUSALS[refusal], {
      errors: [{ pointer: '/body/discount_code', message: DISCOUNT_REFUSALS[refusal] }],
    });
  }
}

export async function updateCart(
  env: Env,
  caller: Caller,
  cart: CartRow,
  input: UpdateCartInput,
  context: { locales: LocaleChains; fields: string[] },
): Promise<LoadedCart> {
  const db = createDb(env.DB);
  const now = new Date();
  assertWritable(cart, now);
  const changes = await cartChanges(env, db, cart, input);
  const next: CartRow = { ...cart, ...changes };
  const loaded = await priceCart(env, db, next, { locales: context.locales, now });
  assertChoicesApply(loaded, input);
  // Checked against the region as read: a move of the cart meanwhile fails the batch (the recheck: cart_changed).
  const checkedAgainstRegion =
    input.region === undefined &&
    Boolean(input.shipping_address || input.shipping_option_id || input.discount_code);
  const results = await commit(db, caller, {
    conditional: true,
    statements: [
      db.update(carts).set(changes).where(eq(carts.id, cart.id)).returning(),
      ...(checkedAgainstRegion ? [cartRegionUnchanged(db, cart)] : []),
      cartWriteGuard(db, cart.id, now),
    ],
    events: [
      {
        type: 'cart.updated',
        aggregateType: 'cart',
        aggregateId: cart.id,
        payload: { id: cart.id, fields: context.fields },
      },
    ],
    // A shipping option deleted since the check fails its foreign key; the recheck says so, or cart_changed.
    recheck: () =>
      recheckCartWrite(db, [cart.id], now, async () => {
        assertChoicesApply(await priceCart(env, db, next, { locales: context.locales, now }), input);
      }),
  });
  const [written] = results[0];
  const after = afterGuard(written ?? next, finalStamp(results));
  // Another write landed between the read and the batch (a field, a line): answer the cart as it is now.
  if (written && written.updatedAt.getTime() !== cart.updatedAt.getTime()) {
    return priceCart(env, db, after, { locales: context.locales, now });
  }
  return { ...loaded, cart: after };
}
