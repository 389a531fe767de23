import { beforeAll, describe, expect, it } from 'vitest';
import { insertCategoryRow, insertCollectionRow, seedRegions } from '../helpers/catalog-fixtures';
import { call } from '../helpers/http';

beforeAll(seedRegions);

describe('GET /v1/store/categories', () => {
  it('returns the tree localized with fallback, siblings by position', async () => {
    const apparel = await insertCategoryRow({
      handle: 'apparel',
      position: 1,
      names: { en: 'Apparel', de: 'Kleidung' },
    });
    const home = await insertCategoryRow({ handle: 'home', position: 0, names: { en: 'Home' } });
    const shirts = await insertCategoryRow({
      handle: 'shirts',
      parentId: apparel.id,
      names: { en: 'Shirts', de: 'Hemden' },
    });
    const linen = await insertCategoryRow({ handle: 'linen', parentId: shirts.id, names: { fr: 'Lin' } });

    const res = await call('/v1/store/categories', { cf: { country: 'DE' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      context: {
        country: 'DE',
        region: 'eu',
        currency: 'EUR',
        locale: 'de',
        tax_inclusive: true,
        tax_rate: 0.19,
      },
      data: [
        { id: home.id, handle: 'home', name: 'Home', description: '', children: [] },
        {
          id: apparel.id,
          handle: 'apparel',
          name: 'Kleidung',
          description: '',
          children: [
            {
              id: shirts.id,
              handle: 'shirts',
              name: 'Hemden',
              description: '',
              children: [{ id: linen.id, handle: 'linen', name: 'Lin', description: '', children: [] }],
            },
          ],
        },
      ],
    });
  });
});

describe('GET /v1/store/collections', () => {
  it('pages through collections by handle, localized', async () => {
    const made = [];
    for (const handle of ['c-autumn', 'c-spring', 'c-summer']) {
      made.push(await insertCollectionRow({ handle, titles: { en: `${handle} en`, fr: `${handle} fr` } }));
    }
    const first = await call('/v1/store/collections?limit=2&locale=fr', { cf: { country: 'FR' } });
    const page1 = (await first.json()) as { data: unknown[]; page: { next_cursor: string } };
    expect(page1.data).toStrictEqual([
      { id: made[0]?.id, handle: 'c-autumn', title: 'c-autumn fr', description: '' },
      { id: made[1]?.id, handle: 'c-spring', title: 'c-spring fr', description: '' },
    ]);
    const second = await call(`/v1/store/collections?limit=2&locale=fr&cursor=${page1.page.next_cursor}`, {
      cf: { country: 'FR' },
    });
    expect(await second.json()).toStrictEqual({
      context: {
        country: 'FR',
        region: 'eu',
        currency: 'EUR',
        locale: 'fr',
        tax_inclusive: true,
        tax_rate: 0.19,
      },
      data: [{ id: made[2]?.id, handle: 'c-summer', title: 'c-summer fr', description: '' }],
      page: { limit: 2, next_cursor: null },
    });
  });
});
