import { beforeAll, describe, expect, it, vi } from 'vitest';
import { toBase64Url } from '../../src/lib/encoding';
import { cacheVersionRows } from '../helpers/cache-versions';
import {
  insertCategoryRow,
  insertCollectionRow,
  insertProductRow,
  seedRegions,
} from '../helpers/catalog-fixtures';
import { call, expectProblem, problemOf } from '../helpers/http';
import { d1CostOf } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

beforeAll(seedRegions);

type Listing = {
  data: { handle: string; title: string; locale: string }[];
  page: { limit: number; next_cursor: string | null };
};

async function list(query: string, country = 'DE'): Promise<Listing> {
  const res = await call(`/v1/store/products?${query}`, { cf: { country } });
  expect(res.status).toBe(200);
  return (await res.json()) as Listing;
}

const price = (amount: number, extra: Record<string, unknown>) => ({ amount, ...extra });

describe('GET /v1/store/products/{handle}', () => {
  it('returns the whole product localized and priced for the region', async () => {
    const category = await insertCategoryRow({ names: { en: 'Shirts', de: 'Hemden' } });
    const collection = await insertCollectionRow({ titles: { en: 'Summer', de: 'Sommer' } });
    const product = await insertProductRow({
      translations: {
        en: { title: 'Linen shirt', description: 'Breathable linen.', seoTitle: 'Buy linen shirts' },
        de: { title: 'Leinenhemd', description: 'Atmungsaktives Leinen.' },
      },
      options: ['Size'],
      variants: [
        {
          sku: unique('LS-S'),
          title: 'S',
          options: { Size: 'S' },
          prices: { EUR: 4990, USD: 4500, JPY: 6800 },
        },
        { sku: unique('LS-M'), title: 'M', options: { Size: 'M' }, prices: { EUR: 5990, USD: 5500 } },
      ],
      categoryIds: [category.id],
      collectionIds: [collection.id],
      images: [{ url: 'https://img.example/shirt.jpg', alt: { en: 'A linen shirt', de: 'Ein Leinenhemd' } }],
    });

    const res = await call(`/v1/store/products/${product.handle}`, { cf: { country: 'DE' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toContain('application/json');
    const eur = (amount: number, net: number, formatted: string) => ({
      currency: 'EUR',
      amount,
      tax_inclusive: true,
      tax_rate: 0.19,
      tax_amount: amount - net,
      amount_excluding_tax: net,
      amount_including_tax: amount,
      formatted,
    });
    expect(await res.json()).toStrictEqual({
      context: {
        country: 'DE',
        region: 'eu',
        currency: 'EUR',
        locale: 'de',
        tax_inclusive: true,
        tax_rate: 0.19,
      },
      product: {
        id: product.id,
        handle: product.handle,
        title: 'Leinenhemd',
        description: 'Atmungsaktives Leinen.',
        seo: { title: 'Leinenhemd', description: 'Atmungsaktives Leinen.' },
        locale: 'de',
        categories: [{ id: category.id, handle: category.handle, name: 'Hemden' }],
        collections: [{ id: collection.id, handle: collection.handle, title: 'Sommer' }],
        images: [{ url: 'https://img.example/shirt.jpg', alt: 'Ein Leinenhemd', position: 0 }],
        options: [{ name: 'Size', values: ['S', 'M'] }],
        variants: [
          {
            id: product.variants[0]?.id,
            sku: product.variants[0]?.sku,
            title: 'S',
            options: { Size: 'S' },
            weight_grams: null,
            barcode: null,
            price: eur(4990, 4193, '49,90\u00a0€'),
          },
          {
            id: product.variants[1]?.id,
            sku: product.variants[1]?.sku,
            title: 'M',
            options: { Size: 'M' },
            weight_grams: null,
            barcode: null,
            price: eur(5990, 5034, '59,90\u00a0€'),
          },
        ],
        price_range: { min: eur(4990, 4193, '49,90\u00a0€'), max: eur(5990, 5034, '59,90\u00a0€') },
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
  });

  it('prices tax-exclusive regions net and adds the tax', async () => {
    const product = await insertProductRow({ variants: [{ prices: { USD: 1000 } }] });
    const res = await call(`/v1/store/products/${product.handle}`, { cf: { country: 'US' } });
    const body = (await res.json()) as { product: { price_range: { min: unknown } } };
    expect(body.product.price_range.min).toStrictEqual({
      currency: 'USD',
      amount: 1000,
      tax_inclusive: false,
      tax_rate: 0.0825,
      tax_amount: 83,
      amount_excluding_tax: 1000,
      amount_including_tax: 1083,
      formatted: '$10.00',
    });
  });

  it('prices zero-decimal currencies in whole yen and shows only variants priced in JPY', async () => {
    const product = await insertProductRow({
      translations: { en: { title: 'Mug' }, ja: { title: 'マグカップ' } },
      variants: [{ prices: { JPY: 1980, EUR: 1500 } }, { prices: { EUR: 1700 } }],
    });
    const res = await call(`/v1/store/products/${product.handle}`, { cf: { country: 'JP' } });
    const body = (await res.json()) as { product: { title: string; variants: { price: unknown }[] } };
    expect(body.product.title).toBe('マグカップ');
    expect(body.product.variants.map((v) => v.price)).toStrictEqual([
      price(1980, {
        currency: 'JPY',
        tax_inclusive: true,
        tax_rate: 0.1,
        tax_amount: 180,
        amount_excluding_tax: 1800,
        amount_including_tax: 1980,
        formatted: '￥1,980',
      }),
    ]);
  });

  it('falls back along the region locales when a translation is missing', async () => {
    const product = await insertProductRow({
      translations: { de: { title: 'Nur Deutsch' }, en: { title: 'English' } },
    });
    const res = await call(`/v1/store/products/${product.handle}?locale=fr`, { cf: { country: 'FR' } });
    const body = (await res.json()) as {
      context: { locale: string };
      product: { title: string; locale: string };
    };
    expect(body.context.locale).toBe('fr');
    expect([body.product.title, body.product.locale]).toStrictEqual(['Nur Deutsch', 'de']);
  });

  it.each([
    ['a draft', { status: 'draft' as const }, 'DE'],
    ['an archived product', { status: 'archived' as const }, 'DE'],
    ['a product not priced in the region currency', { variants: [{ prices: { USD: 100 } }] }, 'GB'],
  ])('answers 404 for %s', async (_name, fixture, country) => {
    const product = await insertProductRow(fixture);
    const res = await call(`/v1/store/products/${product.handle}`, { cf: { country } });
    expect(res.status).toBe(404);
    const body = await problemOf(res);
    expect(body).toStrictEqual({
      type: 'https://edgecart.dev/problems/not_found',
      title: 'Not Found',
      status: 404,
      detail: 'Product was not found.',
      code: 'not_found',
      request_id: res.headers.get('X-Request-Id'),
    });
  });

  it('answers the handle of a product it does not publish as it answers a handle nobody has, rows read included', async () => {
    // Server-Timing's rows read told them apart (2 against 0): anyone could test guessed handles for drafts.
    const [draft, archived] = [
      await insertProductRow({ status: 'draft' }),
      await insertProductRow({ status: 'archived' }),
    ];
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // The first request after the fixtures reads the cache versions; the frozen clock keeps the others from it.
      await (await call(`/v1/store/products/${unique('nobody')}`, { cf: { country: 'DE' } })).arrayBuffer();
      const answers = [];
      for (const handle of [unique('nobody'), draft.handle, archived.handle]) {
        const res = await call(`/v1/store/products/${handle}`, { cf: { country: 'DE' } });
        const { request_id: _, ...problem } = await problemOf(res);
        answers.push({ status: res.status, problem, cost: d1CostOf(res) });
      }
      expect(answers[1]).toStrictEqual(answers[0]);
      expect(answers[2]).toStrictEqual(answers[0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers 422 for a malformed handle', async () => {
    const res = await call('/v1/store/products/NOT%20A%20HANDLE');
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.pointer).toBe('/path/handle');
  });
});

describe('GET /v1/store/products filters and sorts', () => {
  const tag = unique('filter');
  const handles: Record<string, string> = {};

  beforeAll(async () => {
    const parent = await insertCategoryRow({ handle: `${tag}-apparel`, names: { en: 'Apparel' } });
    const child = await insertCategoryRow({
      handle: `${tag}-tops`,
      parentId: parent.id,
      names: { en: 'Tops' },
    });
    const sale = await insertCollectionRow({ handle: `${tag}-sale`, titles: { en: 'Sale' } });
    const specs = [
      {
        key: 'cheap',
        title: `${tag} Alpha tee`,
        eur: 900,
        color: 'Blue',
        cats: [child.id],
        cols: [sale.id],
        day: 1,
      },
      {
        key: 'mid',
        title: `${tag} Charlie hoodie`,
        eur: 4900,
        color: 'Red',
        cats: [parent.id],
        cols: [],
        day: 2,
      },
      {
        key: 'dear',
        title: `${tag} Bravo coat`,
        eur: 19900,
        color: 'Blue',
        cats: [],
        cols: [sale.id],
        day: 3,
      },
    ];
    for (const s of specs) {
      const p = await insertProductRow({
        createdAt: new Date(Date.UTC(2020, 0, s.day)),
        translations: { en: { title: s.title }, de: { title: s.title } },
        options: ['Color'],
        variants: [{ options: { Color: s.color }, prices: { EUR: s.eur, USD: s.eur } }],
        categoryIds: s.cats,
        collectionIds: s.cols,
      });
      handles[s.key] = p.handle;
    }
  });

  const only = (listing: Listing) =>
    listing.data.map((p) => p.handle).filter((h) => Object.values(handles).includes(h));

  it('filters by category including subcategories', async () => {
    expect(only(await list(`category=${tag}-apparel`))).toStrictEqual([handles.mid, handles.cheap]);
    expect(only(await list(`category=${tag}-tops`))).toStrictEqual([handles.cheap]);
  });

  it('filters by collection', async () => {
    expect(only(await list(`collection=${tag}-sale`))).toStrictEqual([handles.dear, handles.cheap]);
  });

  it('filters by price range in minor units of the region currency', async () => {
    expect(only(await list(`q=${tag}&price_min=1000&price_max=5000`))).toStrictEqual([handles.mid]);
  });

  it('filters by option values', async () => {
    expect(only(await list(`q=${tag}&option=Color:Blue&sort=newest`))).toStrictEqual([
      handles.dear,
      handles.cheap,
    ]);
    expect(only(await list(`q=${tag}&option=Color:Blue&option=Color:Red`))).toStrictEqual([]);
  });

  it('matches option names and values literally, JSON-path metacharacters included', async () => {
    const name = `Fit.$[0]"\\`;
    const product = await insertProductRow({
      options: [name],
      variants: [{ options: { [name]: 'Slim\\' }, prices: { EUR: 1000 } }],
    });
    const filter = (text: string) => list(`option=${encodeURIComponent(text)}`);
    expect((await filter(`${name}:Slim\\`)).data.map((p) => p.handle)).toStrictEqual([product.handle]);
    expect((await filter(`Fit.$[0]\\:Slim\\`)).data).toStrictEqual([]);
    expect((await filter('Size\\:M')).data).toStrictEqual([]);
  });

  it.each([
    ['newest', ['dear', 'mid', 'cheap']],
    ['price_asc', ['cheap', 'mid', 'dear']],
    ['price_desc', ['dear', 'mid', 'cheap']],
    ['title_asc', ['cheap', 'dear', 'mid']],
    ['title_desc', ['mid', 'dear', 'cheap']],
  ])('sorts by %s', async (sort, order) => {
    expect(only(await list(`q=${tag}&sort=${sort}`))).toStrictEqual(order.map((k) => handles[k]));
  });

  it.each([
    ['limit=0', '/query/limit'],
    ['limit=101', '/query/limit'],
    ['sort=cheapest', '/query/sort'],
    ['sort=relevance', '/query/sort'],
    ['price_min=-1', '/query/price_min'],
    ['price_min=500&price_max=100', '/query/price_min'],
    ['option=NoColon', '/query/option'],
    ['cursor=not-a-cursor', '/query/cursor'],
    ['q=%22%28%2A', '/query/q'],
  ])('rejects %s with 422 at %s', async (query, pointer) => {
    const res = await call(`/v1/store/products?${query}`, { cf: { country: 'DE' } });
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    expect(body.errors?.map((e) => e.pointer)).toContain(pointer);
  });

  // Number('') is 0: read leniently, an empty price_max would list only free products, a 200 that hides the rest.
  it.each([
    ['price_max=', ['price_max']],
    ['price_min=&price_max=', ['price_min', 'price_max']],
    ['price_min=%20', ['price_min']],
    ['price_max=1e3', ['price_max']],
    ['price_min=0x10', ['price_min']],
    ['limit=', ['limit']],
    ['limit=1e1', ['limit']],
  ])('refuses %s instead of reading it as a number', async (query, names) => {
    const res = await call(`/v1/store/products?${query}`, { cf: { country: 'DE' } });
    await expectProblem(
      res,
      422,
      'validation_failed',
      names.map((name) => ({ pointer: `/query/${name}`, message: 'Use an integer in decimal digits' })),
    );
  });
});

describe('full-text search', () => {
  it('ranks title matches above description matches and searches the locale chain', async () => {
    const word = `zq${crypto.randomUUID().slice(0, 8)}`;
    const inDescription = await insertProductRow({
      translations: { de: { title: 'Etwas', description: `Mit ${word} drin` } },
    });
    const inTitle = await insertProductRow({ translations: { de: { title: `${word} Hemd` } } });
    const onlyEnglish = await insertProductRow({
      translations: { en: { title: `${word} shirt in English only` } },
    });
    const handles = (await list(`q=${word}`)).data.map((p) => p.handle);
    expect(new Set(handles.slice(0, 2))).toStrictEqual(new Set([inTitle.handle, onlyEnglish.handle]));
    expect(handles[2]).toBe(inDescription.handle);
    expect(handles.length).toBe(3);
  });

  it('orders by tier, then the latest listed first, the same across pages', async () => {
    const word = `zt${crypto.randomUUID().slice(0, 8)}`;
    const inTitle = [];
    const inDescription = [];
    for (let i = 0; i < 3; i++) {
      inDescription.push(
        await insertProductRow({ translations: { de: { title: `Etwas ${i}`, description: `Mit ${word}` } } }),
      );
      inTitle.push(await insertProductRow({ translations: { de: { title: `${word} ${i}` } } }));
    }
    const handles: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Listing = await list(`q=${word}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      handles.push(...page.data.map((p) => p.handle));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(handles).toStrictEqual([...inTitle.reverse(), ...inDescription.reverse()].map((p) => p.handle));
  });

  it('puts a product with every word in a title before one with a word only in its description', async () => {
    const word = `zw${crypto.randomUUID().slice(0, 8)}`;
    const split = await insertProductRow({
      translations: { de: { title: `${word} Hemd`, description: 'Blau' } },
    });
    const titled = await insertProductRow({ translations: { de: { title: `Hemd ${word} blau` } } });
    await insertProductRow({ translations: { de: { title: `${word} Hemd`, description: 'Rot' } } });
    expect((await list(`q=${word} blau`)).data.map((p) => p.handle)).toStrictEqual([
      titled.handle,
      split.handle,
    ]);
  });

  it('matches the last word as a prefix and ignores diacritics', async () => {
    const stem = `kx${crypto.randomUUID().slice(0, 6)}`;
    const product = await insertProductRow({ translations: { de: { title: `Café ${stem}erei` } } });
    expect((await list(`q=cafe ${stem}`)).data.map((p) => p.handle)).toStrictEqual([product.handle]);
  });

  it.each([
    ['Crème', 'a precomposed letter'],
    ['Ọ̀yọ́', 'letters that carry two marks, only one of which composes (Yoruba)'],
  ])('finds "%s" (%s) typed composed (NFC) or decomposed (NFD), stored either way', async (word) => {
    const stem = `kx${crypto.randomUUID().slice(0, 6)}`;
    // macOS and some Android keyboards send decomposed text: e + U+0300 COMBINING GRAVE ACCENT.
    const composed = await insertProductRow({
      translations: { de: { title: `${word.normalize('NFC')} ${stem}a` } },
    });
    const decomposed = await insertProductRow({
      translations: { de: { title: `${word.normalize('NFD')} ${stem}b` } },
    });
    const handlesFor = async (q: string) =>
      (await list(`q=${encodeURIComponent(q)}`)).data.map((p) => p.handle);
    for (const form of ['NFC', 'NFD'] as const) {
      expect(await handlesFor(`${word} ${stem}a`.normalize(form)), form).toStrictEqual([composed.handle]);
      expect(await handlesFor(`${word} ${stem}b`.normalize(form)), form).toStrictEqual([decomposed.handle]);
    }
  });

  it.each(['"', 'AND', 'NEAR(', '*', '-x', 'a OR b', "' OR 1=1 --"])(
    'treats %s as plain text, never an error',
    async (q) => {
      const res = await call(`/v1/store/products?q=${encodeURIComponent(q)}`, { cf: { country: 'DE' } });
      expect([200, 422]).toContain(res.status);
      if (res.status === 422) expect((await problemOf(res)).errors?.[0]?.pointer).toBe('/query/q');
    },
  );
});

describe('pagination', () => {
  it('walks every page of every sort with no duplicates and no gaps', async () => {
    const word = `pg${crypto.randomUUID().slice(0, 6)}`;
    const created = [];
    for (let i = 0; i < 7; i++) {
      created.push(
        await insertProductRow({
          createdAt: new Date(Date.UTC(2021, 0, 1 + (i % 3))),
          translations: { de: { title: `${word} ${String.fromCharCode(65 + ((i * 3) % 7))}` } },
          variants: [{ prices: { EUR: 1000 + (i % 2) * 500 } }],
        }),
      );
    }
    for (const sort of ['newest', 'price_asc', 'price_desc', 'title_asc', 'title_desc', 'relevance']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const listing: Listing = await list(
          `q=${word}&sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(listing.data.length).toBeLessThanOrEqual(3);
        expect(listing.page.limit).toBe(3);
        seen.push(...listing.data.map((p) => p.handle));
        cursor = listing.page.next_cursor;
      } while (cursor);
      expect(seen.length).toBe(7);
      expect(new Set(seen)).toStrictEqual(new Set(created.map((p) => p.handle)));
    }
  });

  it('refuses a cursor made for another sort', async () => {
    const word = `pc${crypto.randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 2; i++) await insertProductRow({ translations: { de: { title: `${word} ${i}` } } });
    const first = await list(`q=${word}&sort=newest&limit=1`);
    const res = await call(`/v1/store/products?q=${word}&sort=price_asc&cursor=${first.page.next_cursor}`, {
      cf: { country: 'DE' },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).code).toBe('invalid_cursor');
  });

  it.each([
    ['newest', '[1]'],
    ['newest', '[1,"prod_x","extra"]'],
    ['newest', '["2020-01-01","prod_x"]'],
    ['price_asc', '[9007199254740993,"prod_x"]'],
    ['price_asc', '[1.5,"prod_x"]'],
    ['title_asc', '[1,2]'],
    ['relevance', '[1e400,"prod_x"]'],
  ])('refuses a %s cursor whose key is %s with 422, naming the cursor', async (sort, key) => {
    const cursor = toBase64Url(new TextEncoder().encode(`{"sort":"${sort}","key":${key}}`));
    const res = await call(`/v1/store/products?q=shirt&sort=${sort}&cursor=${cursor}`, {
      cf: { country: 'DE' },
    });
    await expectProblem(res, 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: 'Use the next_cursor of a previous page with the same sort.' },
    ]);
  });

  it('only lists active products sold in the region', async () => {
    const word = `ac${crypto.randomUUID().slice(0, 6)}`;
    const active = await insertProductRow({ translations: { en: { title: `${word} active` } } });
    await insertProductRow({ status: 'draft', translations: { en: { title: `${word} draft` } } });
    await insertProductRow({
      translations: { en: { title: `${word} usd only` } },
      variants: [{ prices: { USD: 5 } }],
    });
    expect((await list(`q=${word}`, 'GB')).data.map((p) => p.handle)).toStrictEqual([active.handle]);
  });
});

describe('rejected reads change nothing', () => {
  it('leaves the cache versions untouched', async () => {
    const before = await cacheVersionRows();
    await call('/v1/store/products?limit=1000');
    expect(await cacheVersionRows()).toStrictEqual(before);
  });
});
