import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminCategoryBody,
  admin,
  catalogVersion,
  createCategory,
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

describe('POST /v1/admin/categories', () => {
  it('creates a category under a parent and bumps the version', async () => {
    const parent = await createCategory();
    const handle = unique('mugs');
    const before = await catalogVersion();

    const res = await admin('POST', '/categories', {
      handle,
      parent_id: parent.id,
      position: 3,
      translations: { en: { name: 'Mugs', description: 'For tea' }, de: { name: 'Tassen' } },
    });

    expect(res.status).toBe(201);
    const body = await res.json<AdminCategoryBody>();
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^cat_[0-9A-Z]{26}$/),
      handle,
      parent_id: parent.id,
      position: 3,
      translations: { en: { name: 'Mugs', description: 'For tea' }, de: { name: 'Tassen', description: '' } },
      storefront_rebuild_since: null,
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/categories/${body.id}`);
    expect(
      await rows('SELECT handle, parent_id, position FROM categories WHERE id = ?', body.id),
    ).toStrictEqual([{ handle, parent_id: parent.id, position: 3 }]);
    expect(
      await rows(
        'SELECT locale, name, description FROM category_translations WHERE category_id = ? ORDER BY locale',
        body.id,
      ),
    ).toStrictEqual([
      { locale: 'de', name: 'Tassen', description: '' },
      { locale: 'en', name: 'Mugs', description: 'For tea' },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it.each([
    ['a handle with capitals', { handle: 'Mugs' }, '/body/handle'],
    ['no translations', { translations: {} }, '/body/translations'],
    [
      'a translation without a name',
      { translations: { en: { description: 'x' } } },
      '/body/translations/en/name',
    ],
    ['a negative position', { position: -1 }, '/body/position'],
    ['a numeric parent id', { parent_id: 5 }, '/body/parent_id'],
    ['an unknown field', { slug: 'x' }, '/body/slug'],
  ])('refuses %s with 422', async (_, overrides, pointer) => {
    const body = { handle: unique('c'), translations: { en: { name: 'C' } }, ...overrides };
    await expectRejected(() => admin('POST', '/categories', body), 422, 'validation_failed', [
      { pointer, message: any },
    ]);
  });

  it('refuses a parent that does not exist with 422', async () => {
    const body = { handle: unique('c'), parent_id: 'cat_missing', translations: { en: { name: 'C' } } };
    await expectRejected(() => admin('POST', '/categories', body), 422, 'reference_not_found', [
      { pointer: '/body/parent_id', message: 'There is no category cat_missing' },
    ]);
  });

  it('refuses a handle another category has with 409', async () => {
    const existing = await createCategory();
    const body = { handle: existing.handle, translations: { en: { name: 'C' } } };
    await expectRejected(() => admin('POST', '/categories', body), 409, 'handle_taken', [
      { pointer: '/body/handle', message: 'Choose another handle' },
    ]);
  });

  it('refuses malformed JSON with 400', async () => {
    await expectRejected(() => admin('POST', '/categories', '{"handle"'), 400, 'malformed_json');
  });
});

describe('GET /v1/admin/categories', () => {
  type Page = { data: AdminCategoryBody[]; page: { limit: number; next_cursor: string | null } };

  it('pages through every category in creation order', async () => {
    await createCategory();
    await createCategory();
    const all = (await rows('SELECT id FROM categories ORDER BY id')).map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await (
        await admin('GET', `/categories?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.data.map((c) => c.id));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual(all);
  });

  it('lists the children of a category, or the top level with parent_id=root', async () => {
    const parent = await createCategory();
    const child = await createCategory({ parent_id: parent.id });
    const res = await admin('GET', `/categories?parent_id=${parent.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ data: [child], page: { limit: 20, next_cursor: null } });

    const roots: Page = await (await admin('GET', '/categories?parent_id=root&limit=100')).json();
    expect(roots.data).toContainEqual(parent);
    expect(roots.data.every((c) => c.parent_id === null)).toBe(true);
  });
});

describe('GET /v1/admin/categories/{id}', () => {
  it('answers the category', async () => {
    const category = await createCategory();
    const res = await admin('GET', `/categories/${category.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(category);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('GET', '/categories/cat_nope'), 404, 'not_found');
  });
});

describe('PATCH /v1/admin/categories/{id}', () => {
  it('moves and renames a category, upserting translations, and bumps the version', async () => {
    const [oldParent, newParent] = [await createCategory(), await createCategory()];
    const category = await createCategory({
      parent_id: oldParent.id,
      translations: { en: { name: 'Old' }, de: { name: 'Alt' } },
    });
    const handle = unique('moved');
    const before = await catalogVersion();

    const res = await admin('PATCH', `/categories/${category.id}`, {
      handle,
      parent_id: newParent.id,
      position: 7,
      translations: { en: { name: 'New' }, de: null, fr: { name: 'Nouveau', description: 'Ici' } },
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...category,
      handle,
      parent_id: newParent.id,
      position: 7,
      translations: { en: { name: 'New', description: '' }, fr: { name: 'Nouveau', description: 'Ici' } },
      updated_at: anyDate,
    });
    expect(
      await rows('SELECT handle, parent_id, position FROM categories WHERE id = ?', category.id),
    ).toStrictEqual([{ handle, parent_id: newParent.id, position: 7 }]);
    expect(
      await rows(
        'SELECT locale, name FROM category_translations WHERE category_id = ? ORDER BY locale',
        category.id,
      ),
    ).toStrictEqual([
      { locale: 'en', name: 'New' },
      { locale: 'fr', name: 'Nouveau' },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('moves a category to the top level with parent_id null', async () => {
    const parent = await createCategory();
    const category = await createCategory({ parent_id: parent.id });
    const res = await admin('PATCH', `/categories/${category.id}`, { parent_id: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ ...category, parent_id: null, updated_at: anyDate });
  });

  it('refuses to move a category under itself with 409', async () => {
    const category = await createCategory();
    await expectRejected(
      () => admin('PATCH', `/categories/${category.id}`, { parent_id: category.id }),
      409,
      'category_cycle',
      [{ pointer: '/body/parent_id', message: any }],
    );
  });

  it('refuses to move a category under its own grandchild with 409', async () => {
    const root = await createCategory();
    const child = await createCategory({ parent_id: root.id });
    const grandchild = await createCategory({ parent_id: child.id });
    await expectRejected(
      () => admin('PATCH', `/categories/${root.id}`, { parent_id: grandchild.id, position: 1 }),
      409,
      'category_cycle',
      [{ pointer: '/body/parent_id', message: any }],
    );
  });

  it('refuses a parent that does not exist with 422', async () => {
    const category = await createCategory();
    await expectRejected(
      () => admin('PATCH', `/categories/${category.id}`, { parent_id: 'cat_missing' }),
      422,
      'reference_not_found',
      [{ pointer: '/body/parent_id', message: 'There is no category cat_missing' }],
    );
  });

  it('refuses the handle of another category with 409', async () => {
    const [other, category] = [await createCategory(), await createCategory()];
    await expectRejected(
      () => admin('PATCH', `/categories/${category.id}`, { handle: other.handle }),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: 'Choose another handle' }],
    );
  });

  it('refuses removing the last translation with 422', async () => {
    const category = await createCategory();
    await expectRejected(
      () => admin('PATCH', `/categories/${category.id}`, { translations: { en: null } }),
      422,
      'validation_failed',
      [{ pointer: '/body/translations', message: 'Do not remove every translation' }],
    );
  });

  it('refuses an empty change with 422', async () => {
    const category = await createCategory();
    await expectRejected(() => admin('PATCH', `/categories/${category.id}`, {}), 422, 'validation_failed', [
      { pointer: '/body', message: 'Send at least one field to change' },
    ]);
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('PATCH', '/categories/cat_nope', { position: 1 }), 404, 'not_found');
  });
});

describe('DELETE /v1/admin/categories/{id}', () => {
  it('deletes a category, takes its products out of it, and bumps the version', async () => {
    const category = await createCategory();
    const product = await createProduct({ category_ids: [category.id] });
    const before = await catalogVersion();

    const res = await admin('DELETE', `/categories/${category.id}`);

    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await rows('SELECT id FROM categories WHERE id = ?', category.id)).toStrictEqual([]);
    expect(
      await rows('SELECT * FROM category_translations WHERE category_id = ?', category.id),
    ).toStrictEqual([]);
    expect(await rows('SELECT * FROM product_categories WHERE category_id = ?', category.id)).toStrictEqual(
      [],
    );
    expect(await rows('SELECT id FROM products WHERE id = ?', product.id)).toStrictEqual([
      { id: product.id },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('refuses a category with subcategories with 409', async () => {
    const parent = await createCategory();
    await createCategory({ parent_id: parent.id });
    await expectRejected(() => admin('DELETE', `/categories/${parent.id}`), 409, 'category_has_children');
  });

  it('answers 404 for an unknown id', async () => {
    await expectRejected(() => admin('DELETE', '/categories/cat_nope'), 404, 'not_found');
  });
});
