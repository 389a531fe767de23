/**
 * Concurrent writes that each pass the up-front checks must still end as one success and clean 4xx: the
 * database constraints (and the guarded category move and translation removal) decide, and the loser gets the
 * same answer it would have got without the race, never a 500.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { categories, products } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { constraintFailure } from '../../src/lib/d1-writes';
import { createDb } from '../../src/lib/db';
import { AppError } from '../../src/lib/errors';
import { updateCategory } from '../../src/modules/categories/admin-service';
import { updateCollection } from '../../src/modules/collections/admin-service';
import { updateProduct } from '../../src/modules/products/admin-service';
import {
  admin,
  createCategory,
  createCollection,
  createProduct,
  ensureCurrencySold,
  productInput,
  regionInput,
  rows,
  uniqueCountry,
} from '../helpers/admin-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { expectProblem } from '../helpers/http';
import { unique } from '../helpers/unique';

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

async function statuses(responses: Response[]) {
  return responses.map((r) => r.status).sort();
}

const LAST_TRANSLATION = [{ pointer: '/body/translations', message: 'Do not remove every translation' }];

/** Each translated catalog record: where it is patched, its translations, and its service's update. */
const TRANSLATED_KINDS = {
  product: {
    path: '/products',
    table: 'product_translations',
    owner: 'product_id',
    create: () => createProduct({ translations: { en: { title: 'Mug' }, de: { title: 'Tasse' } } }),
    update: updateProduct,
  },
  category: {
    path: '/categories',
    table: 'category_translations',
    owner: 'category_id',
    create: () => createCategory({ translations: { en: { name: 'Mugs' }, de: { name: 'Tassen' } } }),
    update: updateCategory,
  },
  collection: {
    path: '/collections',
    table: 'collection_translations',
    owner: 'collection_id',
    create: () => createCollection({ translations: { en: { title: 'Summer' }, de: { title: 'Sommer' } } }),
    update: updateCollection,
  },
} as const;
const TRANSLATED = Object.keys(TRANSLATED_KINDS) as (keyof typeof TRANSLATED_KINDS)[];

describe('concurrent admin writes', () => {
  it('creates one of five products racing for the same handle; the others get 409 handle_taken', async () => {
    const handle = unique('race');
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => admin('POST', '/products', productInput({ handle }))),
    );
    expect(await statuses(responses)).toStrictEqual([201, 409, 409, 409, 409]);
    for (const res of responses.filter((r) => r.status === 409)) {
      await expectProblem(res, 409, 'handle_taken', [
        { pointer: '/body/handle', message: 'Choose another handle' },
      ]);
    }
    expect(await rows('SELECT COUNT(*) AS n FROM products WHERE handle = ?', handle)).toStrictEqual([
      { n: 1 },
    ]);
  });

  it('creates one of two products racing for the same SKU', async () => {
    const sku = unique('RACE');
    const bodies = [1, 2].map(() =>
      productInput({ variants: [{ sku, title: 'M', options: { Size: 'M' } }] }),
    );
    const responses = await Promise.all(bodies.map((body) => admin('POST', '/products', body)));
    expect(await statuses(responses)).toStrictEqual([201, 409]);
    const loser = responses.find((r) => r.status === 409);
    if (loser) {
      await expectProblem(loser, 409, 'sku_taken', [
        { pointer: '/body/variants/0/sku', message: `Another variant already has the SKU "${sku}"` },
      ]);
    }
    expect(await rows('SELECT COUNT(*) AS n FROM variants WHERE sku = ?', sku)).toStrictEqual([{ n: 1 }]);
    const [first, second] = bodies.map((b) => b.handle);
    expect(
      await rows('SELECT COUNT(*) AS n FROM products WHERE handle IN (?, ?)', first, second),
    ).toStrictEqual([{ n: 1 }]);
  });

  it('gives a country to one of two regions racing for it', async () => {
    const country = uniqueCountry();
    const responses = await Promise.all([
      admin('POST', '/regions', regionInput({ countries: [country] })),
      admin('POST', '/regions', regionInput({ countries: [country] })),
    ]);
    expect(await statuses(responses)).toStrictEqual([201, 409]);
    const loser = responses.find((r) => r.status === 409);
    if (loser)
      await expectProblem(loser, 409, 'country_in_other_region', [
        { pointer: '/body/countries/0', message: expect.any(String) },
      ]);
    expect(
      await rows('SELECT COUNT(*) AS n FROM region_countries WHERE country_code = ?', country),
    ).toStrictEqual([{ n: 1 }]);
  });

  it('never closes a loop when two categories are moved under each other at once', async () => {
    const [a, b] = [await createCategory(), await createCategory()];
    const responses = await Promise.all([
      admin('PATCH', `/categories/${a.id}`, { parent_id: b.id }),
      admin('PATCH', `/categories/${b.id}`, { parent_id: a.id }),
    ]);
    expect(await statuses(responses)).toStrictEqual([200, 409]);
    const loser = responses.find((r) => r.status === 409);
    if (loser)
      await expectProblem(loser, 409, 'category_cycle', [
        { pointer: '/body/parent_id', message: expect.any(String) },
      ]);
    const parents = await rows('SELECT id, parent_id FROM categories WHERE id IN (?, ?)', a.id, b.id);
    expect(parents.filter((p) => p.parent_id !== null)).toHaveLength(1);
  });

  it.each(TRANSLATED)(
    'never leaves a %s without any translation when two patches remove one each',
    async (kind) => {
      const { path, table, owner, create } = TRANSLATED_KINDS[kind];
      const { id } = await create();
      const responses = await Promise.all([
        admin('PATCH', `${path}/${id}`, { translations: { en: null } }),
        admin('PATCH', `${path}/${id}`, { translations: { de: null } }),
      ]);
      expect(await statuses(responses)).toStrictEqual([200, 422]);
      const loser = responses.find((r) => r.status === 422);
      if (loser) await expectProblem(loser, 422, 'validation_failed', LAST_TRANSLATION);
      expect(await rows(`SELECT locale FROM ${table} WHERE ${owner} = ?`, id)).toHaveLength(1);
      expect(
        await rows(`SELECT id FROM audit_log WHERE action = ? AND target_id = ?`, `${kind}.update`, id),
      ).toHaveLength(1);
    },
  );

  // The race above, made deterministic: the other patch commits after this one's checks, before its batch.
  it.each(TRANSLATED)(
    'refuses in its batch a %s patch whose check a concurrent removal made stale',
    async (kind) => {
      const { table, owner, create, update } = TRANSLATED_KINDS[kind];
      const { id } = await create();
      const removeGerman = () =>
        env.DB.prepare(`DELETE FROM ${table} WHERE ${owner} = ? AND locale = 'de'`).bind(id).run();
      const write = update(
        writeLandsBeforeBatch(table, removeGerman),
        systemCaller('test', unique('run')),
        id,
        {
          translations: { en: null },
        },
        ['translations'],
      );
      await expect(write).rejects.toMatchObject({
        status: 422,
        code: 'validation_failed',
        errors: LAST_TRANSLATION,
      });
      expect(await rows(`SELECT locale FROM ${table} WHERE ${owner} = ?`, id)).toStrictEqual([
        { locale: 'en' },
      ]);
      expect(await rows(`SELECT id FROM audit_log WHERE target_id = ?`, id)).toHaveLength(1);
    },
  );
});

describe('reading D1 constraint failures', () => {
  const db = createDb(env.DB);

  async function failureOf(write: () => Promise<unknown>) {
    try {
      await write();
    } catch (error) {
      return constraintFailure(error);
    }
    throw new Error('the write did not fail');
  }

  it('names the column of a UNIQUE failure, in a single statement and in a batch', async () => {
    const handle = unique('dup');
    await db.insert(products).values({ id: unique('p1'), handle });
    const expected = { kind: 'unique', columns: 'products.handle' };
    expect(await failureOf(() => db.insert(products).values({ id: unique('p2'), handle }))).toStrictEqual(
      expected,
    );
    expect(
      await failureOf(() =>
        db.batch([
          db.insert(products).values({ id: unique('p3'), handle: unique('ok') }),
          db.insert(products).values({ id: unique('p4'), handle }),
        ]),
      ),
    ).toStrictEqual(expected);
  });

  it('recognizes NOT NULL and FOREIGN KEY failures', async () => {
    const parent = await createCategory();
    await createCategory({ parent_id: parent.id });
    expect(await failureOf(() => db.delete(categories).where(eq(categories.id, parent.id)))).toStrictEqual({
      kind: 'foreign_key',
      columns: undefined,
    });
    expect(
      await failureOf(() =>
        env.DB.prepare('UPDATE categories SET handle = NULL WHERE id = ?').bind(parent.id).run(),
      ),
    ).toStrictEqual({ kind: 'not_null', columns: 'categories.handle' });
  });

  it('is not fooled by constraint text inside the data of a failed query', async () => {
    const spoof = 'UNIQUE constraint failed: variants.sku';
    const error = await db
      .insert(products)
      .values({ id: spoof, handle: spoof, status: 'draft' })
      .then(() => db.insert(products).values({ id: spoof, handle: unique('other') }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(constraintFailure(error)).toStrictEqual({ kind: 'unique', columns: 'products.id' });
    expect(constraintFailure(new Error(`Failed query: insert\nparams: ${spoof}`))).toBeUndefined();
  });

  it('rolls the whole batch back and answers with the recheck when a constraint fails', async () => {
    const handle = unique('taken');
    await db.insert(products).values({ id: unique('p'), handle });
    const firstId = unique('first');
    const conflict = new AppError(409, 'handle_taken', 'taken');
    await expect(
      commit(db, systemCaller('test', unique('run')), {
        statements: [
          db.insert(products).values({ id: firstId, handle: unique('free') }),
          db.insert(products).values({ id: unique('second'), handle }),
        ],
        recheck: async () => {
          throw conflict;
        },
      }),
    ).rejects.toBe(conflict);
    expect(await rows('SELECT id FROM products WHERE id = ?', firstId)).toStrictEqual([]);
  });
});
