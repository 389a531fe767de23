/**
 * Catalog writes on the one write path (src/lib/commit.ts): a write commits with exactly one audit entry and its
 * domain event, under the request's id; a refused write leaves neither; and the cache versions a write moves
 * are in the same batch, so they move if and only if the write commits.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { products } from '../../src/db/schema';
import type { Caller } from '../../src/lib/caller';
import { CatalogVersionBump } from '../../src/lib/catalog-version-bumps';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { createProduct as createProductService } from '../../src/modules/products/admin-service';
import { admin, createProduct, ensureCurrencySold, productInput, rows } from '../helpers/admin-fixtures';
import { cacheVersionRows } from '../helpers/cache-versions';
import { expectProblem } from '../helpers/http';
import { unique } from '../helpers/unique';

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

afterEach(() => {
  vi.restoreAllMocks();
});

const auditOf = (requestId: string | null) =>
  rows(
    'SELECT actor_type, actor_id, action, target_type, target_id, changes, request_id FROM audit_log WHERE request_id = ?',
    requestId,
  );

const eventsOf = (requestId: string | null) =>
  rows(
    // published_at is left out: the request publishes in the background (test/events covers it).
    `SELECT type, version, aggregate_type, aggregate_id, payload, actor_type, actor_id, request_id
     FROM outbox_events WHERE request_id = ?`,
    requestId,
  );

const keyId = expect.stringMatching(/^key_/);

function auditRow(requestId: string | null, action: string, targetId: string, changes: unknown) {
  return {
    actor_type: 'secret_key',
    actor_id: keyId,
    action,
    target_type: action.split('.')[0],
    target_id: targetId,
    changes: JSON.stringify(changes),
    request_id: requestId,
  };
}

function eventRow(requestId: string | null, type: string, aggregateId: string, payload: unknown) {
  return {
    type,
    version: 1,
    aggregate_type: type.split('.')[0],
    aggregate_id: aggregateId,
    payload: JSON.stringify(payload),
    actor_type: 'secret_key',
    actor_id: keyId,
    request_id: requestId,
  };
}

describe('catalog writes commit with their audit entry and event', () => {
  it('records one audit entry and one outbox event for a product create, update and delete', async () => {
    const input = productInput();
    const created = await admin('POST', '/products', input);
    expect(created.status).toBe(201);
    const product = (await created.json()) as { id: string; handle: string };
    const createId = created.headers.get('X-Request-Id');
    expect(await auditOf(createId)).toStrictEqual([
      auditRow(createId, 'product.create', product.id, {
        fields: ['handle', 'translations', 'options', 'variants'],
        row: {
          id: { from: null, to: product.id },
          handle: { from: null, to: input.handle },
          status: { from: null, to: 'draft' },
        },
      }),
    ]);
    expect(await eventsOf(createId)).toStrictEqual([
      eventRow(createId, 'product.created', product.id, { id: product.id }),
    ]);

    const updated = await admin('PATCH', `/products/${product.id}`, { status: 'active' });
    expect(updated.status).toBe(200);
    const updateId = updated.headers.get('X-Request-Id');
    expect(await auditOf(updateId)).toStrictEqual([
      auditRow(updateId, 'product.update', product.id, {
        fields: ['status'],
        row: { status: { from: 'draft', to: 'active' } },
      }),
    ]);
    expect(await eventsOf(updateId)).toStrictEqual([
      eventRow(updateId, 'product.updated', product.id, { id: product.id }),
    ]);

    const deleted = await admin('DELETE', `/products/${product.id}`);
    expect(deleted.status).toBe(204);
    const deleteId = deleted.headers.get('X-Request-Id');
    expect(await auditOf(deleteId)).toStrictEqual([
      auditRow(deleteId, 'product.delete', product.id, {
        fields: [],
        row: {
          id: { from: product.id, to: null },
          handle: { from: input.handle, to: null },
          status: { from: 'active', to: null },
        },
      }),
    ]);
    expect(await eventsOf(deleteId)).toStrictEqual([
      eventRow(deleteId, 'product.deleted', product.id, { id: product.id }),
    ]);
  });

  it('audits a variant write on the variant and raises product.updated on its product', async () => {
    const product = await createProduct();
    const res = await admin('PUT', `/variants/${product.variants[0]?.id}/prices`, {
      prices: [{ currency: 'EUR', amount: 2500 }],
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('X-Request-Id');
    const variantId = product.variants[0]?.id as string;
    expect(await auditOf(requestId)).toStrictEqual([
      auditRow(requestId, 'variant.set_prices', variantId, { fields: ['prices'], row: {} }),
    ]);
    expect(await eventsOf(requestId)).toStrictEqual([
      eventRow(requestId, 'product.updated', product.id, { id: product.id, variant_id: variantId }),
    ]);
  });

  it('audits a delete once when two requests race for it: one 204, one 404 that writes nothing', async () => {
    const product = await createProduct();
    const responses = await Promise.all([
      admin('DELETE', `/products/${product.id}`),
      admin('DELETE', `/products/${product.id}`),
    ]);
    expect(responses.map((r) => r.status).sort()).toStrictEqual([204, 404]);
    const deletes = await rows(
      "SELECT request_id FROM audit_log WHERE target_id = ? AND action = 'product.delete'",
      product.id,
    );
    const winner = responses.find((r) => r.status === 204)?.headers.get('X-Request-Id');
    expect(deletes).toStrictEqual([{ request_id: winner }]);
    expect(
      await rows(
        "SELECT request_id FROM outbox_events WHERE aggregate_id = ? AND type = 'product.deleted'",
        product.id,
      ),
    ).toStrictEqual([{ request_id: winner }]);
  });

  it('writes neither an audit entry nor an event for a refused write', async () => {
    const product = await createProduct();
    const taken = await admin('POST', '/products', productInput({ handle: product.handle }));
    await expectProblem(taken, 409, 'handle_taken', [
      { pointer: '/body/handle', message: 'Choose another handle' },
    ]);
    const invalid = await admin('PATCH', `/products/${product.id}`, { status: 'gone' });
    expect(invalid.status).toBe(422);
    const missing = await admin('DELETE', `/products/${unique('prod')}`);
    expect(missing.status).toBe(404);

    for (const res of [taken, invalid, missing]) {
      const requestId = res.headers.get('X-Request-Id');
      expect(requestId).toEqual(expect.any(String));
      expect(await auditOf(requestId)).toStrictEqual([]);
      expect(await eventsOf(requestId)).toStrictEqual([]);
    }
  });
});

describe("cache versions move in the write's own batch", () => {
  const caller: Caller = {
    actor: { type: 'secret_key', id: 'key_versions_test' },
    meta: { requestId: 'req_versions_test', ip: null, userAgent: null, traceparent: null },
  };
  const draft = (handle: string) => ({
    handle,
    status: 'draft' as const,
    translations: { en: { title: 'Test product', description: '', seo_title: null, seo_description: null } },
    options: [],
    variants: [],
    category_ids: [],
    collection_ids: [],
    images: [],
  });

  it('moves the page of the new product and the listings with it', async () => {
    const before = await cacheVersionRows();
    const handle = unique('product');
    await createProductService(env, caller, draft(handle), ['handle']);
    const after = await cacheVersionRows();
    expect(before[`product:${handle}`]).toBeUndefined();
    expect(after[`product:${handle}`]).toBeGreaterThan(before.listing ?? 0);
    // One statement moves every scope of a write to the same version.
    expect(after.listing).toBe(after[`product:${handle}`]);
  });

  it('moves no version when the batch fails', async () => {
    const taken = await createProductService(env, caller, draft(unique('product')), ['handle']);
    const before = await cacheVersionRows();
    const db = createDb(env.DB);
    const id = newId('prod');
    const handle = unique('product');
    const now = new Date();
    await expect(
      commit(db, caller, {
        // The second insert breaks the handle's unique index, so the whole batch rolls back.
        statements: [
          db.insert(products).values({ id, handle, status: 'draft', createdAt: now, updatedAt: now }),
          db.update(products).set({ handle: taken.handle }).where(eq(products.id, id)),
        ],
        versions: CatalogVersionBump.product(db, id, handle),
      }),
    ).rejects.toThrow();
    expect(await cacheVersionRows()).toStrictEqual(before);
  });
});
