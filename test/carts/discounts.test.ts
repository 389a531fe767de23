/**
 * Discount codes on carts (percentage, fixed, minimum subtotal, validity window, usage limits in total and per
 * customer, region limits), the rate limit on attempts, and the redemption statement checkout puts in the
 * order's batch, raced for the last use.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import { AppError } from '../../src/lib/errors';
import { discountWithUsageQuery } from '../../src/modules/discounts/read';
import {
  assertDiscountRedeemable,
  discountRedemptionStatement,
} from '../../src/modules/discounts/redemption';
import { admin, rows } from '../helpers/admin-fixtures';
import {
  addLine,
  type Cart,
  cartCall,
  createCart,
  getCart,
  guestCart,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer } from '../helpers/customers';
import { expectProblem } from '../helpers/http';
import { expectRateLimited, inOneRateLimitWindow } from '../helpers/rate-limits';
import { d1CostOf } from '../helpers/request-cost';
import { unique, uniqueEmail } from '../helpers/unique';

let variantId: string;
let regionIds: Record<string, string>;

beforeAll(async () => {
  await seedRegions();
  regionIds = Object.fromEntries(
    (await rows('SELECT code, id FROM regions')).map((r) => [r.code as string, r.id as string]),
  );
  variantId = (await stockedProduct({ variants: [{ prices: { EUR: 1000, USD: 1000 } }] })).variants[0]
    ?.id as string;
});

async function discount(body: Record<string, unknown> = {}): Promise<{ id: string; code: string }> {
  const res = await admin('POST', '/discounts', {
    code: unique('CODE'),
    type: 'percentage',
    percentage_bps: 1000,
    ...body,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; code: string };
}

/** A guest cart in `region` holding `units` of the 1000-unit variant, and its credentials. */
async function cartWith(units: number, region = 'eu', email?: string) {
  const { cart, who } = await guestCart(region);
  if (units > 0) await addLine(cart.id, who, variantId, units);
  if (email) await patchCart(cart.id, who, { email });
  return { cart, who };
}

/** Records a redemption as checkout would: the statement in a batch, here with an event beside it. */
function redeem(
  discountId: string,
  who: { customerId?: string | null; email?: string | null },
  at = new Date(),
  orderId = `ord_${crypto.randomUUID()}`,
) {
  const db = createDb(env.DB);
  return commit(db, systemCaller('test', 'run'), {
    statements: [
      discountRedemptionStatement(db, {
        discountId,
        orderId,
        customerId: who.customerId ?? null,
        email: who.email ?? null,
        at,
      }),
    ],
    // Any event of the order's batch: it must commit or roll back with the redemption.
    events: [
      {
        type: 'cart.checkout_started',
        aggregateType: 'cart',
        aggregateId: orderId,
        payload: { id: orderId, customer_id: null, region: 'eu', currency: 'EUR', total: 0 },
      },
    ],
  }).then(() => orderId);
}

/** The code's `times_used`, as staff read it. */
async function timesUsedOf(id: string): Promise<number> {
  const res = await admin('GET', `/discounts/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { times_used: number }).times_used;
}

/** Enters `code` on the cart; the caller asserts the refusal. */
const enter = (cart: Cart, who: { token: string }, code: string) =>
  cartCall('PATCH', `/carts/${cart.id}`, who, { discount_code: code });

describe('applying a code', () => {
  it('takes a percentage off the subtotal, whatever the case the shopper types', async () => {
    const { code } = await discount({ percentage_bps: 1500 });
    const { cart, who } = await cartWith(2);
    const applied = await patchCart(cart.id, who, { discount_code: code.toLowerCase() });
    // 15% of 2000 = 300; tax 19% extracted from 1700: 271.
    expect([applied.discount, applied.lines[0]?.discount, applied.totals]).toStrictEqual([
      { code, applicable: true, reason: null, amount: 300 },
      300,
      { subtotal: 2000, discount: 300, shipping: 0, tax: 271, total: 1700, tax_inclusive: true },
    ]);
    expect(await rows('SELECT discount_code FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { discount_code: code },
    ]);
    const removed = await patchCart(cart.id, who, { discount_code: null });
    expect([removed.discount, removed.totals.total]).toStrictEqual([null, 2000]);
  });

  it('takes a fixed amount off in its currency, never more than the subtotal, and refuses other currencies', async () => {
    const { code } = await discount({ type: 'fixed', percentage_bps: null, amount: 1500, currency: 'EUR' });
    const { cart, who } = await cartWith(1);
    const applied = await patchCart(cart.id, who, { discount_code: code });
    expect([applied.discount?.amount, applied.totals.total]).toStrictEqual([1000, 0]);
    const usd = await cartWith(1, 'us');
    await expectProblem(await enter(usd.cart, usd.who, code), 422, 'discount_currency_mismatch', [
      { pointer: '/body/discount_code', message: 'This discount code is not valid in the cart’s currency.' },
    ]);
  });

  it('requires its minimum subtotal, and shows (never drops) a code the cart stops qualifying for', async () => {
    const { code } = await discount({ currency: 'EUR', minimum_subtotal: 2000 });
    const small = await cartWith(1);
    await expectProblem(await enter(small.cart, small.who, code), 422, 'discount_minimum_not_met', [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);
    const { cart, who } = await cartWith(2);
    const applied = await patchCart(cart.id, who, { discount_code: code });
    expect(applied.totals.discount).toBe(200);
    const lineId = applied.lines[0]?.id;
    const reduced = await (
      await cartCall('PATCH', `/carts/${cart.id}/line-items/${lineId}`, who, { quantity: 1 })
    ).json<{ cart: Cart }>();
    expect([reduced.cart.discount, reduced.cart.totals.discount]).toStrictEqual([
      { code, applicable: false, reason: 'discount_minimum_not_met', amount: 0 },
      0,
    ]);
  });

  it.each([
    ['not started', { starts_at: new Date(Date.now() + 86_400_000).toISOString() }, 'discount_not_started'],
    ['expired', { ends_at: new Date(Date.now() - 1000).toISOString() }, 'discount_expired'],
    ['inactive', { active: false }, 'discount_code_invalid'],
  ])('refuses a code that is %s', async (_, body, reason) => {
    const { code } = await discount(body);
    const { cart, who } = await cartWith(1);
    await expectProblem(await enter(cart, who, code), 422, reason, [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);
    expect(await rows('SELECT discount_code FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { discount_code: null },
    ]);
  });

  it('refuses an unknown code with the same answer as an inactive one', async () => {
    const { cart, who } = await cartWith(1);
    await expectProblem(await enter(cart, who, 'NO-SUCH-CODE'), 422, 'discount_code_invalid', [
      { pointer: '/body/discount_code', message: 'There is no active discount with this code.' },
    ]);
  });

  it('is valid only in its regions', async () => {
    const { code } = await discount({ region_ids: [regionIds.us] });
    const eu = await cartWith(1, 'eu');
    await expectProblem(await enter(eu.cart, eu.who, code), 422, 'discount_region_excluded', [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);
    const us = await cartWith(1, 'us');
    expect((await patchCart(us.cart.id, us.who, { discount_code: code })).discount?.applicable).toBe(true);
    // Moving the cart out of the region keeps the code on it, not applicable.
    const moved = await patchCart(us.cart.id, us.who, { region: 'eu' });
    expect(moved.discount).toStrictEqual({
      code,
      applicable: false,
      reason: 'discount_region_excluded',
      amount: 0,
    });
  });

  it('counts its total usage limit', async () => {
    const { id, code } = await discount({ usage_limit: 2 });
    const { cart, who } = await cartWith(1);
    await redeem(id, { email: uniqueEmail() });
    expect((await patchCart(cart.id, who, { discount_code: code })).discount?.applicable).toBe(true);
    await redeem(id, { email: uniqueEmail() });
    expect((await getCart(cart.id, who)).discount).toStrictEqual({
      code,
      applicable: false,
      reason: 'discount_usage_limit_reached',
      amount: 0,
    });
    const late = await cartWith(1);
    await expectProblem(await enter(late.cart, late.who, code), 422, 'discount_usage_limit_reached', [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);
  });

  it('counts its per-customer limit by customer id, and for guests by email', async () => {
    const { id, code } = await discount({ usage_limit_per_customer: 1 });
    const email = uniqueEmail();
    await redeem(id, { email });
    const sameEmail = await cartWith(1, 'eu', email);
    await expectProblem(
      await enter(sameEmail.cart, sameEmail.who, code),
      422,
      'discount_customer_limit_reached',
      [{ pointer: '/body/discount_code', message: expect.any(String) }],
    );
    const otherEmail = await cartWith(1, 'eu', uniqueEmail());
    expect(
      (await patchCart(otherEmail.cart.id, otherEmail.who, { discount_code: code })).discount?.applicable,
    ).toBe(true);

    const customer = await registerCustomer();
    await redeem(id, { customerId: customer.id, email: null });
    const own = await createCart({ region: 'eu' }, { accessToken: customer.tokens.access_token });
    const res = await cartCall(
      'PATCH',
      `/carts/${own.cart.id}`,
      { accessToken: customer.tokens.access_token },
      { discount_code: code },
    );
    await expectProblem(res, 422, 'discount_customer_limit_reached', [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);
  });

  it('limits code attempts per cart (429 with Retry-After), counting only callers who may use the cart', async () => {
    await inOneRateLimitWindow(async () => {
      const { cart, who } = await cartWith(0);
      for (let i = 0; i < 10; i++) {
        const res = await cartCall('PATCH', `/carts/${cart.id}`, who, { discount_code: `GUESS-${i}` });
        expect(res.status).toBe(422);
        await res.arrayBuffer();
      }
      await expectRateLimited(
        await cartCall('PATCH', `/carts/${cart.id}`, who, { discount_code: 'GUESS-X' }),
      );
      // Other fields are not limited.
      expect((await cartCall('PATCH', `/carts/${cart.id}`, who, { email: uniqueEmail() })).status).toBe(200);
    });
  });
});

describe('the redemption statement', () => {
  it('lets exactly one of two racing orders take the last use; the other batch rolls back whole', async () => {
    const { id } = await discount({ usage_limit: 1 });
    const orders = [`ord_${crypto.randomUUID()}`, `ord_${crypto.randomUUID()}`];
    // Both batches are built before either commits: only the condition inside the batch can tell them apart.
    const results = await Promise.allSettled(
      orders.map((orderId) => redeem(id, { email: uniqueEmail() }, new Date(), orderId)),
    );
    expect(results.map((r) => r.status).sort()).toStrictEqual(['fulfilled', 'rejected']);
    const won = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<string>;
    expect(await rows('SELECT order_id FROM discount_redemptions WHERE discount_id = ?', id)).toStrictEqual([
      { order_id: won.value },
    ]);
    // The loser's event was in its batch, so it went with it.
    expect(
      await rows(
        "SELECT aggregate_id FROM outbox_events WHERE type = 'cart.checkout_started' AND aggregate_id IN (?, ?)",
        ...orders,
      ),
    ).toStrictEqual([{ aggregate_id: won.value }]);
    // And the recheck names why.
    await expect(
      assertDiscountRedeemable(createDb(env.DB), {
        discountId: id,
        customerId: null,
        email: null,
        at: new Date(),
      }),
    ).rejects.toMatchObject({ status: 409, code: 'discount_usage_limit_reached' });
  });

  it('fails the batch for a code that is expired at `at`, deleted, or used up by this customer', async () => {
    const db = createDb(env.DB);
    const ends = new Date(Date.now() + 60_000);
    const windowed = await discount({ ends_at: ends.toISOString() });
    await expect(redeem(windowed.id, { email: uniqueEmail() }, ends)).rejects.toThrow();
    await expect(
      assertDiscountRedeemable(db, { discountId: windowed.id, customerId: null, email: null, at: ends }),
    ).rejects.toMatchObject({ code: 'discount_expired' });
    await redeem(windowed.id, { email: uniqueEmail() }, new Date(ends.getTime() - 1));

    await expect(redeem('disc_missing', { email: uniqueEmail() })).rejects.toThrow();
    await expect(
      assertDiscountRedeemable(db, {
        discountId: 'disc_missing',
        customerId: null,
        email: null,
        at: new Date(),
      }),
    ).rejects.toMatchObject({ code: 'discount_code_invalid' });

    const perCustomer = await discount({ usage_limit_per_customer: 1 });
    const email = uniqueEmail();
    await redeem(perCustomer.id, { email });
    await expect(redeem(perCustomer.id, { customerId: 'cus_other', email })).rejects.toThrow();
    const refusal = await assertDiscountRedeemable(db, {
      discountId: perCustomer.id,
      customerId: null,
      email,
      at: new Date(),
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ status: 409, code: 'discount_customer_limit_reached' });
    await expect(
      assertDiscountRedeemable(db, {
        discountId: perCustomer.id,
        customerId: null,
        email: uniqueEmail(),
        at: new Date(),
      }),
    ).resolves.toBeUndefined();
  });
});

describe('what counting a code’s uses reads', () => {
  it('reads none of a popular code’s uses for a cart, when the code has no total limit', async () => {
    const { id, code } = await discount({ usage_limit_per_customer: 1 });
    const { cart, who } = await cartWith(1, 'eu', uniqueEmail());
    await patchCart(cart.id, who, { discount_code: code });
    const read = async () => {
      const res = await cartCall('GET', `/carts/${cart.id}`, who);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { cart: Cart }).cart.discount?.applicable).toBe(true);
      return d1CostOf(res);
    };
    const before = await read();
    // 300 other shoppers used the code.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
       INSERT INTO discount_redemptions (id, discount_id, order_id, customer_id, email, redeemed_at)
       SELECT 'dred_pop_' || ?1 || i, ?1, 'ord_pop_' || ?1 || i, NULL, 'pop' || i || '@example.com', 0 FROM n`,
    )
      .bind(id)
      .run();
    expect(await timesUsedOf(id)).toBe(300);
    expect(await read()).toStrictEqual(before);
  });

  it('searches an index per redeemer, never a scan of the code’s uses', async () => {
    const query = discountWithUsageQuery(createDb(env.DB), 'PLAN', {
      customerId: 'cus_plan',
      email: 'plan@example.com',
    }).toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const redemptionsRead = results
      .map((r) => r.detail)
      .filter((detail) => detail.includes('discount_redemptions'));
    expect(redemptionsRead).toStrictEqual([
      'SEARCH discount_redemptions USING COVERING INDEX discount_redemptions_email_idx (discount_id=?)',
      'SEARCH discount_redemptions USING INDEX discount_redemptions_customer_idx (discount_id=? AND customer_id=? AND released_at=?)',
      'SEARCH discount_redemptions USING INDEX discount_redemptions_email_idx (discount_id=? AND email=? AND released_at=?)',
    ]);
  });
});
