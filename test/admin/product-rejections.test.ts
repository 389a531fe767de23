import { beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  createCategory,
  createProduct,
  ensureCurrencySold,
  expectRejected,
  productInput,
} from '../helpers/admin-fixtures';
import { unique } from '../helpers/unique';

const any = expect.any(String);

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

const variant = (overrides: Record<string, unknown> = {}) => ({
  sku: unique('SKU'),
  title: 'M',
  options: { Size: 'M' },
  prices: [{ currency: 'EUR', amount: 1999 }],
  ...overrides,
});

describe('POST /v1/admin/products refuses invalid bodies with 422 and changes nothing', () => {
  it.each([
    ['a handle with spaces', { handle: 'blue mug' }, '/body/handle', any],
    ['no translations', { translations: {} }, '/body/translations', 'Give at least one translation'],
    [
      'a translation without a title',
      { translations: { en: { description: 'x' } } },
      '/body/translations/en/title',
      any,
    ],
    ['a malformed locale', { translations: { EN: { title: 'x' } } }, '/body/translations/EN', any],
    [
      'an unknown translation field',
      { translations: { en: { title: 'x', slug: 'x' } } },
      '/body/translations/en/slug',
      'Unknown field',
    ],
    ['an unknown status', { status: 'live' }, '/body/status', any],
    [
      'a repeated option',
      { options: [{ name: 'Size' }, { name: 'Size' }], variants: [] },
      '/body/options/1/name',
      'Duplicate name "Size"',
    ],
    [
      'a variant missing an option value',
      { variants: [variant({ options: {} })] },
      '/body/variants/0/options',
      any,
    ],
    [
      'a variant with an extra option',
      { variants: [variant({ options: { Size: 'M', Color: 'Red' } })] },
      '/body/variants/0/options',
      any,
    ],
    ['a SKU with spaces', { variants: [variant({ sku: 'MUG 1' })] }, '/body/variants/0/sku', any],
    [
      'a negative amount',
      { variants: [variant({ prices: [{ currency: 'EUR', amount: -1 }] })] },
      '/body/variants/0/prices/0/amount',
      any,
    ],
    [
      'a fractional amount',
      { variants: [variant({ prices: [{ currency: 'EUR', amount: 19.99 }] })] },
      '/body/variants/0/prices/0/amount',
      any,
    ],
    [
      'an amount of 10^12',
      { variants: [variant({ prices: [{ currency: 'EUR', amount: 1e12 }] })] },
      '/body/variants/0/prices/0/amount',
      any,
    ],
    [
      'an invented currency',
      { variants: [variant({ prices: [{ currency: 'XYZ', amount: 1 }] })] },
      '/body/variants/0/prices/0/currency',
      'Not an ISO 4217 currency',
    ],
    [
      'a repeated currency',
      {
        variants: [
          variant({
            prices: [
              { currency: 'EUR', amount: 1 },
              { currency: 'EUR', amount: 2 },
            ],
          }),
        ],
      },
      '/body/variants/0/prices/1/currency',
      'Duplicate currency "EUR"',
    ],
    [
      'a negative weight',
      { variants: [variant({ weight_grams: -5 })] },
      '/body/variants/0/weight_grams',
      any,
    ],
    [
      'an unknown variant field',
      { variants: [variant({ stock: 5 })] },
      '/body/variants/0/stock',
      'Unknown field',
    ],
    [
      'a repeated category id',
      { category_ids: ['cat_a', 'cat_a'] },
      '/body/category_ids/1',
      'Duplicate value "cat_a"',
    ],
    [
      'an http image',
      { images: [{ url: 'http://img.test/a.jpg' }] },
      '/body/images/0/url',
      'Use an https URL',
    ],
    [
      'an image alt in a malformed locale',
      { images: [{ url: 'https://img.test/a.jpg', alt: { English: 'x' } }] },
      '/body/images/0/alt/English',
      any,
    ],
    ['an unknown field', { price: 5 }, '/body/price', 'Unknown field'],
    ['a missing handle', { handle: undefined }, '/body/handle', any],
  ])('%s', async (_, overrides, pointer, message) => {
    await expectRejected(
      () => admin('POST', '/products', productInput(overrides)),
      422,
      'validation_failed',
      [{ pointer, message }],
    );
  });

  it('two variants with the same option values', async () => {
    const body = productInput({ variants: [variant(), variant()] });
    await expectRejected(() => admin('POST', '/products', body), 422, 'validation_failed', [
      { pointer: '/body/variants/1/options', message: 'Another variant has the same options' },
    ]);
  });

  it('two variants with the same SKU', async () => {
    const sku = unique('SKU');
    const body = productInput({
      variants: [variant({ sku }), variant({ sku, options: { Size: 'L' } })],
    });
    await expectRejected(() => admin('POST', '/products', body), 422, 'validation_failed', [
      { pointer: '/body/variants/1/sku', message: `Duplicate sku "${sku}"` },
    ]);
  });

  it('malformed JSON (400)', async () => {
    await expectRejected(() => admin('POST', '/products', '{"handle":'), 400, 'malformed_json');
  });
});

describe('POST /v1/admin/products refuses bodies that do not fit the catalog', () => {
  it('a price in a currency no region sells (422 currency_not_sold)', async () => {
    const body = productInput({
      variants: [
        variant({
          prices: [
            { currency: 'EUR', amount: 1 },
            { currency: 'JPY', amount: 100 },
          ],
        }),
      ],
    });
    await expectRejected(() => admin('POST', '/products', body), 422, 'currency_not_sold', [
      { pointer: '/body/variants/0/prices/1/currency', message: 'No region sells in JPY' },
    ]);
  });

  it('categories and collections that do not exist (422 reference_not_found)', async () => {
    const category = await createCategory();
    const body = productInput({
      category_ids: [category.id, 'cat_missing'],
      collection_ids: ['col_missing'],
    });
    await expectRejected(() => admin('POST', '/products', body), 422, 'reference_not_found', [
      { pointer: '/body/category_ids/1', message: 'There is no category cat_missing' },
      { pointer: '/body/collection_ids/0', message: 'There is no collection col_missing' },
    ]);
  });

  it('a handle another product has (409 handle_taken)', async () => {
    const existing = await createProduct();
    await expectRejected(
      () => admin('POST', '/products', productInput({ handle: existing.handle })),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: 'Choose another handle' }],
    );
  });

  it('a SKU another variant has (409 sku_taken)', async () => {
    const existing = await createProduct();
    const sku = existing.variants[0]?.sku;
    const body = productInput({ variants: [variant({ options: { Size: 'S' } }), variant({ sku })] });
    await expectRejected(() => admin('POST', '/products', body), 409, 'sku_taken', [
      { pointer: '/body/variants/1/sku', message: `Another variant already has the SKU "${sku}"` },
    ]);
  });
});

describe('PATCH /v1/admin/products/{id} refusals change nothing', () => {
  it('an unknown product (404)', async () => {
    await expectRejected(() => admin('PATCH', '/products/prod_nope', { status: 'active' }), 404, 'not_found');
  });

  it('an empty change (422)', async () => {
    const product = await createProduct();
    await expectRejected(() => admin('PATCH', `/products/${product.id}`, {}), 422, 'validation_failed', [
      { pointer: '/body', message: 'Send at least one field to change' },
    ]);
  });

  it('removing the last translation (422)', async () => {
    const product = await createProduct();
    await expectRejected(
      () => admin('PATCH', `/products/${product.id}`, { translations: { en: null } }),
      422,
      'validation_failed',
      [{ pointer: '/body/translations', message: 'Do not remove every translation' }],
    );
  });

  it('options, which cannot change after creation (422 unknown field)', async () => {
    const product = await createProduct();
    await expectRejected(
      () => admin('PATCH', `/products/${product.id}`, { options: [{ name: 'Color' }] }),
      422,
      'validation_failed',
      [{ pointer: '/body/options', message: 'Unknown field' }],
    );
  });

  it('a collection that does not exist (422)', async () => {
    const product = await createProduct();
    await expectRejected(
      () => admin('PATCH', `/products/${product.id}`, { collection_ids: ['col_missing'], status: 'active' }),
      422,
      'reference_not_found',
      [{ pointer: '/body/collection_ids/0', message: 'There is no collection col_missing' }],
    );
  });

  it('the handle of another product (409)', async () => {
    const [other, product] = [await createProduct(), await createProduct()];
    await expectRejected(
      () => admin('PATCH', `/products/${product.id}`, { handle: other.handle, status: 'active' }),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: 'Choose another handle' }],
    );
  });

  it('malformed JSON (400)', async () => {
    const product = await createProduct();
    await expectRejected(() => admin('PATCH', `/products/${product.id}`, '{'), 400, 'malformed_json');
  });
});

describe('POST /v1/admin/products refuses text that is not well-formed Unicode', () => {
  it('an option name holding half an emoji (a lone surrogate, as a UI cutting text mid-emoji sends), in the options and the variants’ keys (422, nothing stored)', async () => {
    // Stored, it would be one name in the TEXT column and another in the variants' JSON: no variant could be chosen.
    const name = 'Size 😀'.slice(0, 6); // 'Size \ud83d': the first half of the emoji's surrogate pair
    const message = 'Not well-formed Unicode: holds half of a character (a lone surrogate)';
    const body = productInput({ options: [{ name }], variants: [variant({ options: { [name]: 'M' } })] });
    await expectRejected(() => admin('POST', '/products', body), 422, 'validation_failed', [
      { pointer: '/body/options/0/name', message },
      { pointer: `/body/variants/0/options/${name}`, message },
    ]);
  });
});
