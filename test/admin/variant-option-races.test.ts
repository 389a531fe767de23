/**
 * No two variants of a product carry the same option values, even when two writes race: each passes the up-front
 * check alone, so the batch itself refuses the one that would make a pair, and its request gets the same 409 it
 * would have got without the race. Variants written before that guard, alike already, do not block other writes.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { systemCaller } from '../../src/lib/caller';
import { newId } from '../../src/lib/ids';
import { createVariant } from '../../src/modules/products/admin-variant-service';
import { admin, adminKey, createProduct, ensureCurrencySold, rows } from '../helpers/admin-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { bearer, expectProblem, jsonInit } from '../helpers/http';
import { unique } from '../helpers/unique';

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

const OPTIONS_TAKEN = [{ pointer: '/body/options', message: 'Choose a combination no other variant has' }];

/** A product with options Size and Color and one variant (M / Blue). */
async function product() {
  const created = await createProduct({
    options: [{ name: 'Size' }, { name: 'Color' }],
    variants: [{ sku: unique('BASE'), title: 'M / Blue', options: { Size: 'M', Color: 'Blue' } }],
  });
  const [variant] = created.variants;
  if (!variant) throw new Error('fixture product has no variant');
  return { ...created, variant };
}

/** Another request creating an L / Red variant of `productId`, its options in the other key order. */
const otherCreatesLargeRed = (productId: string, sku: string) => () =>
  createVariant(
    env,
    systemCaller('test', unique('run')),
    productId,
    {
      sku,
      title: 'L / Red',
      options: { Color: 'Red', Size: 'L' },
      weight_grams: null,
      barcode: null,
      prices: [],
    },
    [],
  );

/** An admin request through the app on `bindings`, whose D1 lets another write land before the batch. */
async function adminOn(bindings: Env, method: string, path: string, body: unknown) {
  const ctx = createExecutionContext();
  const init = jsonInit(method, body, bearer(await adminKey()));
  const res = await createApp().request(`/v1/admin${path}`, init, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const variantsOf = (productId: string) =>
  rows('SELECT sku, options FROM variants WHERE product_id = ? ORDER BY position, sku', productId);

/** What the refused request wrote: audit entries and events under its request id, which must be none. */
const writtenBy = async (res: Response) => {
  const requestId = res.headers.get('X-Request-Id');
  return [
    ...(await rows('SELECT action FROM audit_log WHERE request_id = ?', requestId)),
    ...(await rows('SELECT type FROM outbox_events WHERE request_id = ?', requestId)),
  ];
};

describe('variants racing for the same option values', () => {
  it('creates one of two variants posted at once with the same values; the other gets 409', async () => {
    const { id } = await product();
    const responses = await Promise.all(
      [
        { Size: 'L', Color: 'Red' },
        { Color: 'Red', Size: 'L' },
      ].map((options) =>
        admin('POST', `/products/${id}/variants`, { sku: unique('L'), title: 'L / Red', options }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toStrictEqual([201, 409]);
    const loser = responses.find((r) => r.status === 409);
    if (loser) await expectProblem(loser, 409, 'variant_options_taken', OPTIONS_TAKEN);
    expect(
      await rows("SELECT COUNT(*) AS n FROM variants WHERE product_id = ? AND options ->> 'Size' = 'L'", id),
    ).toStrictEqual([{ n: 1 }]);
  });

  // The race above, made deterministic: the other variant commits after this one's checks, before its batch.
  it('refuses in its batch a create whose values a concurrent create took, in any key order', async () => {
    const { id, variant } = await product();
    const winner = unique('WIN');
    const bindings = writeLandsBeforeBatch('variants', otherCreatesLargeRed(id, winner), 'insert into');

    const res = await adminOn(bindings, 'POST', `/products/${id}/variants`, {
      sku: unique('LOSE'),
      title: 'L / Red',
      options: { Size: 'L', Color: 'Red' },
      prices: [{ currency: 'EUR', amount: 1000 }],
    });

    await expectProblem(res, 409, 'variant_options_taken', OPTIONS_TAKEN);
    expect(await variantsOf(id)).toStrictEqual([
      { sku: variant.sku, options: '{"Size":"M","Color":"Blue"}' },
      { sku: winner, options: '{"Color":"Red","Size":"L"}' },
    ]);
    expect(
      await rows(
        'SELECT COUNT(*) AS n FROM prices JOIN variants ON id = variant_id WHERE product_id = ?',
        id,
      ),
    ).toStrictEqual([{ n: 0 }]);
    expect(await writtenBy(res)).toStrictEqual([]);
  });

  it('refuses in its batch an update whose values a concurrent create took', async () => {
    const { id, variant } = await product();
    const winner = unique('WIN');
    const bindings = writeLandsBeforeBatch('variants', otherCreatesLargeRed(id, winner), 'update');

    const res = await adminOn(bindings, 'PATCH', `/variants/${variant.id}`, {
      title: 'L / Red',
      options: { Size: 'L', Color: 'Red' },
    });

    await expectProblem(res, 409, 'variant_options_taken', OPTIONS_TAKEN);
    expect(await variantsOf(id)).toStrictEqual([
      { sku: variant.sku, options: '{"Size":"M","Color":"Blue"}' },
      { sku: winner, options: '{"Color":"Red","Size":"L"}' },
    ]);
    expect(await rows('SELECT title FROM variants WHERE id = ?', variant.id)).toStrictEqual([
      { title: 'M / Blue' },
    ]);
    expect(await writtenBy(res)).toStrictEqual([]);
  });

  it('still writes the other variants of a product that has two alike from before the guard', async () => {
    const { id, variant } = await product();
    const twin = newId('var');
    await env.DB.prepare(
      `INSERT INTO variants (id, product_id, sku, title, options, position)
       VALUES (?, ?, ?, 'M / Blue', '{"Color":"Blue","Size":"M"}', 1)`,
    )
      .bind(twin, id, unique('TWIN'))
      .run();

    const added = await admin('POST', `/products/${id}/variants`, {
      sku: unique('S'),
      title: 'S / Blue',
      options: { Size: 'S', Color: 'Blue' },
    });
    expect(added.status).toBe(201);
    const renamed = await admin('PATCH', `/variants/${variant.id}`, { title: 'Medium / Blue' });
    expect(renamed.status).toBe(200);
    const parted = await admin('PATCH', `/variants/${twin}`, { options: { Size: 'XL', Color: 'Blue' } });
    expect(parted.status).toBe(200);
    expect(
      await rows('SELECT options FROM variants WHERE product_id = ? ORDER BY position', id),
    ).toStrictEqual([
      { options: '{"Size":"M","Color":"Blue"}' },
      { options: '{"Size":"XL","Color":"Blue"}' },
      { options: '{"Size":"S","Color":"Blue"}' },
    ]);
  });
});
