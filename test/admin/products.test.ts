import { beforeAll, describe, expect, it } from 'vitest';
import { BY_DATE, BY_PRICE } from '../../src/db/fts';
import {
  type AdminProductBody,
  admin,
  catalogVersion,
  createCategory,
  createCollection,
  createProduct,
  ensureCurrencySold,
  expectRejected,
  rows,
} from '../helpers/admin-fixtures';
import { actualOrderedSearchRows } from '../helpers/storefront';
import { unique } from '../helpers/unique';

const id = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}_[0-9A-Z]{26}$`));
const anyDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

beforeAll(async () => {
  await ensureCurrencySold('EUR');
  await ensureCurrencySold('USD');
});

describe('POST /v1/admin/products', () => {
  it('creates the whole product in one write and bumps the catalog version', async () => {
    const category = await createCategory();
    const collection = await createCollection();
    const handle = unique('mug');
    const [skuS, skuM] = [unique('MUG-S'), unique('MUG-M')];
    const before = await catalogVersion();

    const res = await admin('POST', '/products', {
      handle,
      status: 'active',
      translations: {
        en: { title: 'Blue mug', description: 'Holds tea.', seo_title: 'Mug', seo_description: 'A blue mug' },
        de: { title: 'Blaue Tasse' },
      },
      options: [{ name: 'Size' }, { name: 'Color' }],
      variants: [
        {
          sku: skuS,
          title: 'S / Blue',
          options: { Size: 'S', Color: 'Blue' },
          weight_grams: 300,
          barcode: '4006381333931',
          prices: [
            { currency: 'USD', amount: 1299 },
            { currency: 'EUR', amount: 1199 },
          ],
        },
        { sku: skuM, title: 'M / Blue', options: { Color: 'Blue', Size: 'M' } },
      ],
      category_ids: [category.id],
      collection_ids: [collection.id],
      images: [
        { url: 'https://img.test/mug.jpg', alt: { en: 'A blue mug' } },
        { url: 'https://img.test/mug-2.jpg' },
      ],
    });

    expect(res.status).toBe(201);
    const body = await res.json<AdminProductBody>();
    const variant = (sku: string, extra: object) => ({
      id: id('var'),
      product_id: body.id,
      sku,
      created_at: anyDate,
      updated_at: anyDate,
      ...extra,
    });
    expect(body).toStrictEqual({
      id: id('prod'),
      handle,
      status: 'active',
      translations: {
        de: { title: 'Blaue Tasse', description: '', seo_title: null, seo_description: null },
        en: { title: 'Blue mug', description: 'Holds tea.', seo_title: 'Mug', seo_description: 'A blue mug' },
      },
      options: [
        { id: id('opt'), name: 'Size', position: 0 },
        { id: id('opt'), name: 'Color', position: 1 },
      ],
      variants: [
        variant(skuS, {
          title: 'S / Blue',
          options: { Size: 'S', Color: 'Blue' },
          weight_grams: 300,
          barcode: '4006381333931',
          position: 0,
          prices: [
            { currency: 'EUR', amount: 1199 },
            { currency: 'USD', amount: 1299 },
          ],
        }),
        variant(skuM, {
          title: 'M / Blue',
          options: { Color: 'Blue', Size: 'M' },
          weight_grams: null,
          barcode: null,
          position: 1,
          prices: [],
        }),
      ],
      category_ids: [category.id],
      collection_ids: [collection.id],
      images: [
        { id: id('img'), url: 'https://img.test/mug.jpg', alt: { en: 'A blue mug' }, position: 0 },
        { id: id('img'), url: 'https://img.test/mug-2.jpg', alt: {}, position: 1 },
      ],
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/products/${body.id}`);

    expect(await rows('SELECT handle, status FROM products WHERE id = ?', body.id)).toStrictEqual([
      { handle, status: 'active' },
    ]);
    expect(
      await rows(
        'SELECT locale, title FROM product_translations WHERE product_id = ? ORDER BY locale',
        body.id,
      ),
    ).toStrictEqual([
      { locale: 'de', title: 'Blaue Tasse' },
      { locale: 'en', title: 'Blue mug' },
    ]);
    expect(
      await rows(
        'SELECT sku, options, position FROM variants WHERE product_id = ? ORDER BY position',
        body.id,
      ),
    ).toStrictEqual([
      { sku: skuS, options: '{"Size":"S","Color":"Blue"}', position: 0 },
      { sku: skuM, options: '{"Color":"Blue","Size":"M"}', position: 1 },
    ]);
    expect(
      await rows(
        'SELECT p.currency_code, p.amount FROM prices p JOIN variants v ON v.id = p.variant_id WHERE v.product_id = ? ORDER BY 1',
        body.id,
      ),
    ).toStrictEqual([
      { currency_code: 'EUR', amount: 1199 },
      { currency_code: 'USD', amount: 1299 },
    ]);
    expect(
      await rows('SELECT category_id FROM product_categories WHERE product_id = ?', body.id),
    ).toStrictEqual([{ category_id: category.id }]);
    expect(
      await rows('SELECT collection_id FROM product_collections WHERE product_id = ?', body.id),
    ).toStrictEqual([{ collection_id: collection.id }]);
    expect(
      await rows(
        'SELECT url, alt, position FROM product_images WHERE product_id = ? ORDER BY position',
        body.id,
      ),
    ).toStrictEqual([
      { url: 'https://img.test/mug.jpg', alt: '{"en":"A blue mug"}', position: 0 },
      { url: 'https://img.test/mug-2.jpg', alt: '{}', position: 1 },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('creates a draft with nothing but a handle and a title', async () => {
    const handle = unique('bare');
    const res = await admin('POST', '/products', { handle, translations: { en: { title: 'Bare' } } });
    expect(res.status).toBe(201);
    expect(await res.json()).toStrictEqual({
      id: id('prod'),
      handle,
      status: 'draft',
      translations: { en: { title: 'Bare', description: '', seo_title: null, seo_description: null } },
      options: [],
      variants: [],
      category_ids: [],
      collection_ids: [],
      images: [],
      created_at: anyDate,
      updated_at: anyDate,
    });
  });

  it('writes a product with more rows than one statement may bind', async () => {
    const options = ['A', 'B', 'C'].map((name) => ({ name }));
    const variants = Array.from({ length: 40 }, (_, i) => ({
      sku: unique(`BULK-${i}`),
      title: `Variant ${i}`,
      options: { A: `a${i}`, B: 'b', C: 'c' },
      prices: [
        { currency: 'EUR', amount: 100 + i },
        { currency: 'USD', amount: 200 + i },
      ],
    }));
    const res = await admin('POST', '/products', {
      handle: unique('bulk'),
      translations: { en: { title: 'Bulk' } },
      options,
      variants,
    });
    expect(res.status).toBe(201);
    const body = await res.json<AdminProductBody>();
    expect(body.variants.map((v) => v.position)).toStrictEqual(variants.map((_, i) => i));
    expect(await rows('SELECT COUNT(*) AS n FROM variants WHERE product_id = ?', body.id)).toStrictEqual([
      { n: 40 },
    ]);
    expect(
      await rows(
        'SELECT COUNT(*) AS n FROM prices p JOIN variants v ON v.id = p.variant_id WHERE v.product_id = ?',
        body.id,
      ),
    ).toStrictEqual([{ n: 80 }]);
  });
});

describe('GET /v1/admin/products/{id}', () => {
  it('answers the full representation', async () => {
    const product = await createProduct();
    const res = await admin('GET', `/products/${product.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(product);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('GET', '/products/prod_nope'), 404, 'not_found');
  });
});

describe('GET /v1/admin/products', () => {
  type Page = { data: AdminProductBody[]; page: { limit: number; next_cursor: string | null } };

  it('pages through every product in creation order', async () => {
    await createProduct();
    await createProduct();
    await createProduct();
    const all = (await rows('SELECT id FROM products ORDER BY id')).map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin('GET', `/products?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = await res.json<Page>();
      seen.push(...page.data.map((p) => p.id));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual(all);
  });

  it('filters by status and by text in the handle or any title', async () => {
    const word = unique('zebra').replaceAll('-', '');
    const byTitle = await createProduct({
      status: 'active',
      translations: { de: { title: `Die ${word} Tasse` } },
    });
    const byHandle = await createProduct({ handle: `${word}-handle`, status: 'draft' });
    await createProduct({ status: 'active' });

    const res = await admin('GET', `/products?q=${word.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      data: [byTitle, byHandle],
      page: { limit: 20, next_cursor: null },
    });

    const active = await (await admin('GET', `/products?q=${word}&status=active`)).json<Page>();
    expect(active.data).toStrictEqual([byTitle]);
  });

  it('matches LIKE wildcards in the search text literally', async () => {
    await createProduct({ translations: { en: { title: 'Plain title' } } });
    const literal = await createProduct({ translations: { en: { title: `100%_${unique('sure')}` } } });
    const page = await (await admin('GET', `/products?q=${encodeURIComponent('0%_')}`)).json<Page>();
    expect(page.data).toStrictEqual([literal]);
  });

  it.each([
    ['an unknown status', '?status=deleted', '/query/status'],
    ['a page size of 0', '?limit=0', '/query/limit'],
    ['an empty search', '?q=', '/query/q'],
  ])('refuses %s with 422', async (_, query, pointer) => {
    await expectRejected(() => admin('GET', `/products${query}`), 422, 'validation_failed', [
      { pointer, message: expect.any(String) },
    ]);
  });
});

describe('PATCH /v1/admin/products/{id}', () => {
  it('changes the given fields, upserts translations and replaces the lists', async () => {
    const [oldCategory, newCategory] = [await createCategory(), await createCategory()];
    const [oldCollection, newCollection] = [await createCollection(), await createCollection()];
    const product = await createProduct({
      translations: { en: { title: 'Old' }, de: { title: 'Alt' } },
      category_ids: [oldCategory.id],
      collection_ids: [oldCollection.id],
      images: [{ url: 'https://img.test/old.jpg' }],
    });
    const handle = unique('renamed');
    const before = await catalogVersion();

    const res = await admin('PATCH', `/products/${product.id}`, {
      handle,
      status: 'active',
      translations: {
        en: { title: 'New', description: 'Now described' },
        de: null,
        fr: { title: 'Nouveau' },
      },
      category_ids: [newCategory.id],
      collection_ids: [newCollection.id],
      images: [{ url: 'https://img.test/new.jpg', alt: { fr: 'Nouveau' } }],
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...product,
      handle,
      status: 'active',
      translations: {
        en: { title: 'New', description: 'Now described', seo_title: null, seo_description: null },
        fr: { title: 'Nouveau', description: '', seo_title: null, seo_description: null },
      },
      category_ids: [newCategory.id],
      collection_ids: [newCollection.id],
      images: [{ id: id('img'), url: 'https://img.test/new.jpg', alt: { fr: 'Nouveau' }, position: 0 }],
      updated_at: anyDate,
    });
    expect(await rows('SELECT handle, status FROM products WHERE id = ?', product.id)).toStrictEqual([
      { handle, status: 'active' },
    ]);
    expect(
      await rows('SELECT category_id FROM product_categories WHERE product_id = ?', product.id),
    ).toStrictEqual([{ category_id: newCategory.id }]);
    expect(await rows('SELECT url FROM product_images WHERE product_id = ?', product.id)).toStrictEqual([
      { url: 'https://img.test/new.jpg' },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('keeps its own handle when it is sent again', async () => {
    const product = await createProduct();
    const res = await admin('PATCH', `/products/${product.id}`, { handle: product.handle, status: 'active' });
    expect(res.status).toBe(200);
  });
});

describe('POST /v1/admin/products/{id}/archive', () => {
  it('archives the product and bumps the version', async () => {
    const product = await createProduct({ status: 'active' });
    const before = await catalogVersion();
    const res = await admin('POST', `/products/${product.id}/archive`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ ...product, status: 'archived', updated_at: anyDate });
    expect(await rows('SELECT status FROM products WHERE id = ?', product.id)).toStrictEqual([
      { status: 'archived' },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('POST', '/products/prod_nope/archive'), 404, 'not_found');
  });
});

describe('DELETE /v1/admin/products/{id}', () => {
  it('deletes the product with everything that belongs to it', async () => {
    const category = await createCategory();
    const product = await createProduct({
      status: 'active',
      category_ids: [category.id],
      images: [{ url: 'https://img.test/x.jpg' }],
    });
    const variantId = product.variants[0]?.id;
    const before = await catalogVersion();
    /** The rows of the ordered copies of the full-text index (contentless) for it, or that no pair names. */
    const orderedRows = async () =>
      (await Promise.all([BY_PRICE, BY_DATE].map(actualOrderedSearchRows)))
        .flat()
        .filter((r) => r.product_id === product.id || r.product_id === null);
    expect((await orderedRows()).length).toBe(2);

    const res = await admin('DELETE', `/products/${product.id}`);

    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    for (const table of [
      'products WHERE id',
      'product_translations WHERE product_id',
      'storefront_search WHERE product_id',
      'storefront_search_rows WHERE product_id',
      'product_options WHERE product_id',
      'variants WHERE product_id',
      'product_categories WHERE product_id',
      'product_images WHERE product_id',
    ]) {
      expect(await rows(`SELECT * FROM ${table} = ?`, product.id)).toStrictEqual([]);
    }
    expect(await rows('SELECT * FROM prices WHERE variant_id = ?', variantId)).toStrictEqual([]);
    expect(await orderedRows()).toStrictEqual([]);
    expect(await rows('SELECT id FROM categories WHERE id = ?', category.id)).toStrictEqual([
      { id: category.id },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('DELETE', '/products/prod_nope'), 404, 'not_found');
  });
});
