import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminCollectionBody,
  admin,
  catalogVersion,
  createCollection,
  createProduct,
  ensureCurrencySold,
  expectRejected,
  rows,
} from '../helpers/admin-fixtures';
import { unique } from '../helpers/unique';

const any = expect.any(String);
const anyDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

const sorted = (ids: string[]) => [...ids].sort();

describe('POST /v1/admin/collections', () => {
  it('creates a collection with its products and bumps the version', async () => {
    const [a, b] = [await createProduct(), await createProduct()];
    const handle = unique('summer');
    const before = await catalogVersion();

    const res = await admin('POST', '/collections', {
      handle,
      translations: { en: { title: 'Summer', description: 'Sunny' } },
      product_ids: [b.id, a.id],
    });

    expect(res.status).toBe(201);
    const body = await res.json<AdminCollectionBody>();
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^col_[0-9A-Z]{26}$/),
      handle,
      translations: { en: { title: 'Summer', description: 'Sunny' } },
      product_ids: sorted([a.id, b.id]),
      storefront_rebuild_since: null,
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/collections/${body.id}`);
    expect(await rows('SELECT handle FROM collections WHERE id = ?', body.id)).toStrictEqual([{ handle }]);
    expect(
      await rows(
        'SELECT locale, title, description FROM collection_translations WHERE collection_id = ?',
        body.id,
      ),
    ).toStrictEqual([{ locale: 'en', title: 'Summer', description: 'Sunny' }]);
    expect(
      await rows('SELECT product_id FROM product_collections WHERE collection_id = ? ORDER BY 1', body.id),
    ).toStrictEqual(sorted([a.id, b.id]).map((product_id) => ({ product_id })));
    expect(await catalogVersion()).not.toBe(before);
  });

  it.each([
    ['a malformed handle', { handle: '-x-' }, '/body/handle', any],
    ['no translations', { translations: {} }, '/body/translations', 'Give at least one translation'],
    ['a translation without a title', { translations: { en: {} } }, '/body/translations/en/title', any],
    [
      'a repeated product',
      { product_ids: ['prod_a', 'prod_a'] },
      '/body/product_ids/1',
      'Duplicate value "prod_a"',
    ],
    ['an unknown field', { rules: [] }, '/body/rules', 'Unknown field'],
  ])('refuses %s with 422', async (_, overrides, pointer, message) => {
    const body = { handle: unique('c'), translations: { en: { title: 'C' } }, ...overrides };
    await expectRejected(() => admin('POST', '/collections', body), 422, 'validation_failed', [
      { pointer, message },
    ]);
  });

  it('refuses products that do not exist with 422, pointing at each', async () => {
    const product = await createProduct();
    const body = {
      handle: unique('c'),
      translations: { en: { title: 'C' } },
      product_ids: ['prod_missing1', product.id, 'prod_missing2'],
    };
    await expectRejected(() => admin('POST', '/collections', body), 422, 'reference_not_found', [
      { pointer: '/body/product_ids/0', message: 'There is no product prod_missing1' },
      { pointer: '/body/product_ids/2', message: 'There is no product prod_missing2' },
    ]);
  });

  it('refuses a handle another collection has with 409', async () => {
    const existing = await createCollection();
    const body = { handle: existing.handle, translations: { en: { title: 'C' } } };
    await expectRejected(() => admin('POST', '/collections', body), 409, 'handle_taken', [
      { pointer: '/body/handle', message: 'Choose another handle' },
    ]);
  });

  it('refuses malformed JSON with 400', async () => {
    await expectRejected(() => admin('POST', '/collections', '[{'), 400, 'malformed_json');
  });
});

describe('GET /v1/admin/collections', () => {
  it('pages through every collection in creation order', async () => {
    await createCollection();
    await createCollection();
    const all = (await rows('SELECT id FROM collections ORDER BY id')).map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin('GET', `/collections?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = await res.json<{ data: AdminCollectionBody[]; page: { next_cursor: string | null } }>();
      seen.push(...page.data.map((c) => c.id));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual(all);
  });

  it('refuses a cursor from another listing with 422', async () => {
    const cursor = btoa(JSON.stringify({ sort: 'code', key: ['x'] }));
    await expectRejected(() => admin('GET', `/collections?cursor=${cursor}`), 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: any },
    ]);
  });
});

describe('GET /v1/admin/collections/{id}', () => {
  it('answers the collection', async () => {
    const product = await createProduct();
    const collection = await createCollection({ product_ids: [product.id] });
    const res = await admin('GET', `/collections/${collection.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(collection);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('GET', '/collections/col_nope'), 404, 'not_found');
  });
});

describe('PATCH /v1/admin/collections/{id}', () => {
  it('replaces the products, upserts translations and bumps the version', async () => {
    const [a, b, c] = [await createProduct(), await createProduct(), await createProduct()];
    const collection = await createCollection({
      product_ids: [a.id, b.id],
      translations: { en: { title: 'Old' }, de: { title: 'Alt' } },
    });
    const handle = unique('renamed');
    const before = await catalogVersion();

    const res = await admin('PATCH', `/collections/${collection.id}`, {
      handle,
      translations: { de: null, en: { title: 'New' } },
      product_ids: [c.id, a.id],
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...collection,
      handle,
      translations: { en: { title: 'New', description: '' } },
      product_ids: sorted([a.id, c.id]),
      updated_at: anyDate,
    });
    expect(
      await rows(
        'SELECT product_id FROM product_collections WHERE collection_id = ? ORDER BY 1',
        collection.id,
      ),
    ).toStrictEqual(sorted([a.id, c.id]).map((product_id) => ({ product_id })));
    expect(
      await rows('SELECT locale FROM collection_translations WHERE collection_id = ?', collection.id),
    ).toStrictEqual([{ locale: 'en' }]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('empties the collection with an empty product list', async () => {
    const product = await createProduct();
    const collection = await createCollection({ product_ids: [product.id] });
    const res = await admin('PATCH', `/collections/${collection.id}`, { product_ids: [] });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ ...collection, product_ids: [], updated_at: anyDate });
  });

  it('refuses a product that does not exist with 422', async () => {
    const collection = await createCollection();
    await expectRejected(
      () => admin('PATCH', `/collections/${collection.id}`, { product_ids: ['prod_missing'] }),
      422,
      'reference_not_found',
      [{ pointer: '/body/product_ids/0', message: 'There is no product prod_missing' }],
    );
  });

  it('refuses the handle of another collection with 409', async () => {
    const [other, collection] = [await createCollection(), await createCollection()];
    await expectRejected(
      () => admin('PATCH', `/collections/${collection.id}`, { handle: other.handle }),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: 'Choose another handle' }],
    );
  });

  it('refuses removing the last translation with 422', async () => {
    const collection = await createCollection();
    await expectRejected(
      () => admin('PATCH', `/collections/${collection.id}`, { translations: { en: null } }),
      422,
      'validation_failed',
      [{ pointer: '/body/translations', message: 'Do not remove every translation' }],
    );
  });

  it('refuses an empty change with 422', async () => {
    const collection = await createCollection();
    await expectRejected(
      () => admin('PATCH', `/collections/${collection.id}`, {}),
      422,
      'validation_failed',
      [{ pointer: '/body', message: 'Send at least one field to change' }],
    );
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(
      () => admin('PATCH', '/collections/col_nope', { product_ids: [] }),
      404,
      'not_found',
    );
  });
});

describe('DELETE /v1/admin/collections/{id}', () => {
  it('deletes the collection, keeps its products, and bumps the version', async () => {
    const product = await createProduct();
    const collection = await createCollection({ product_ids: [product.id] });
    const before = await catalogVersion();

    const res = await admin('DELETE', `/collections/${collection.id}`);

    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await rows('SELECT id FROM collections WHERE id = ?', collection.id)).toStrictEqual([]);
    expect(
      await rows('SELECT * FROM collection_translations WHERE collection_id = ?', collection.id),
    ).toStrictEqual([]);
    expect(
      await rows('SELECT * FROM product_collections WHERE collection_id = ?', collection.id),
    ).toStrictEqual([]);
    expect(await rows('SELECT id FROM products WHERE id = ?', product.id)).toStrictEqual([
      { id: product.id },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('DELETE', '/collections/col_nope'), 404, 'not_found');
  });
});
