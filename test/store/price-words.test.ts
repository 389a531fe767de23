/**
 * The price words (src/db/price-words.ts) against their meaning: rows written with the SQL words, asked for with
 * the JavaScript terms, in a real FTS5 table; each bound must match exactly the rows whose prices it admits, at the
 * edges of every base-4 digit and up to the largest amount.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { priceBoundTerms, priceWordsSql } from '../../src/db/price-words';
import { MAX_AMOUNT } from '../../src/lib/money';

const TABLE = 'price_words_probe';

/** Every price around each power of 4 and 10, the retail prices around 20.00, and a spread of others. */
const EDGES = [
  ...Array.from({ length: 21 }, (_, n) => [4 ** n - 1, 4 ** n, 4 ** n + 1]).flat(),
  ...Array.from({ length: 12 }, (_, n) => [10 ** n - 1, 10 ** n, 10 ** n + 1]).flat(),
  1999,
  2000,
  2001,
  19_600,
  MAX_AMOUNT - 1,
  MAX_AMOUNT,
];
const PRICES = [
  ...new Set([0, ...EDGES, ...Array.from({ length: 60 }, (_, i) => (i * 7_919_317) % 5_000_000)]),
].filter((p) => p >= 0 && p <= MAX_AMOUNT);

/** Each row a product whose cheapest price is `cheap` and dearest `dear`. */
const ROWS = PRICES.map((dear, i) => ({ id: i + 1, dear, cheap: PRICES[(i * 13) % PRICES.length] ?? 0 })).map(
  (row) => ({ ...row, cheap: Math.min(row.cheap, row.dear) }),
);

beforeAll(async () => {
  await env.DB.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${TABLE} USING fts5(lists)`);
  await env.DB.batch(
    ROWS.map((row) =>
      env.DB.prepare(
        `INSERT INTO ${TABLE} (rowid, lists) SELECT ?1, 'row' || ${priceWordsSql('?2', '?3')}`,
      ).bind(row.id, row.cheap, row.dear),
    ),
  );
});

async function matched(min: number | undefined, max: number | undefined): Promise<number[]> {
  const terms = priceBoundTerms(min, max);
  const query = terms === undefined ? '{lists}: row' : `{lists}: row AND ${terms}`;
  const { results } = await env.DB.prepare(`SELECT rowid FROM ${TABLE} WHERE ${TABLE} MATCH ? ORDER BY rowid`)
    .bind(query)
    .all<{ rowid: number }>();
  return results.map((r) => r.rowid);
}

const admitted = (min: number | undefined, max: number | undefined) =>
  ROWS.filter((row) => (min === undefined || row.dear >= min) && (max === undefined || row.cheap <= max)).map(
    (row) => row.id,
  );

const BOUNDS = [...new Set([0, 1, 2, 3, ...EDGES, 4 ** 20, 2 ** 53 - 1])];

describe('price words', () => {
  it('a minimum matches exactly the rows whose dearest price reaches it', async () => {
    for (const min of BOUNDS)
      expect(await matched(min, undefined), `from ${min}`).toStrictEqual(admitted(min, undefined));
  });

  it('a maximum matches exactly the rows whose cheapest price is within it', async () => {
    for (const max of BOUNDS)
      expect(await matched(undefined, max), `up to ${max}`).toStrictEqual(admitted(undefined, max));
  });

  it('both bounds match the rows whose range meets them', async () => {
    for (const [min, max] of [
      [1999, 2001],
      [2000, 2000],
      [16, 63],
      [1, MAX_AMOUNT],
      [19_600, 4 ** 12],
      [4 ** 10 + 1, 4 ** 11 - 1],
    ] as const) {
      expect(await matched(min, max), `${min}-${max}`).toStrictEqual(admitted(min, max));
    }
  });

  it('leaves out the bounds that admit every price: no minimum above 0, no maximum below 4^20', () => {
    expect(priceBoundTerms(undefined, undefined)).toBeUndefined();
    expect(priceBoundTerms(0, 4 ** 20)).toBeUndefined();
    expect(priceBoundTerms(1999, undefined)).toMatch(/^\{lists\}: \(ph0x7cf OR /);
  });
});
