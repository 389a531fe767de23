/**
 * The cart retention job against real local D1: open carts (and checking_out ones, whose lock died long ago)
 * untouched for a month go with their lines, unless a line still records a live hold; recent, completed and
 * merged carts stay; a run deletes at most CART_PRUNE_LIMIT through carts_status_updated_idx; it logs one job line
 * and runs every minute.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCartRetentionJob } from '../../src/jobs/cart-retention';
import { CRON_JOBS } from '../../src/jobs/schedule';
import { createDb } from '../../src/lib/db';
import {
  ABANDONED_CART_RETENTION_MS,
  abandonedCarts,
  CART_PRUNE_LIMIT,
  pruneAbandonedCarts,
} from '../../src/modules/carts/retention';
import { addLine, cartCall, guestCart, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { problemOf } from '../helpers/http';
import { logLines } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

const DAY = 86_400_000;
const NOW = new Date('2026-11-30T12:00:00Z');
const abandonedAt = NOW.getTime() - ABANDONED_CART_RETENTION_MS - 1;

beforeAll(seedRegions);

afterEach(() => {
  vi.restoreAllMocks();
});

type Status = 'open' | 'checking_out' | 'completed' | 'merged';

/** A cart last written at `updatedAt`, with one line per entry of `holds` (its reservation expiry, or null). */
async function insertCart(
  status: Status,
  updatedAt: number,
  holds: (number | null)[] = [null],
): Promise<string> {
  const id = unique('cart');
  await env.DB.prepare(
    `INSERT INTO carts (id, currency_code, email, shipping_address_encrypted, shipping_country, status,
       checkout_started_at, completed_order_id, created_at, updated_at)
     VALUES (?, 'EUR', 'shopper@example.com', 'v1.k.iv.ct', 'DE', ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      status,
      status === 'checking_out' ? updatedAt : null,
      status === 'completed' ? unique('ord') : null,
      updatedAt - DAY,
      updatedAt,
    )
    .run();
  for (const [i, expiresAt] of holds.entries()) {
    await env.DB.prepare(
      `INSERT INTO cart_lines (id, cart_id, variant_id, quantity, reservation_expires_at, sku, product_title,
         variant_title)
       VALUES (?, ?, ?, 1, ?, 'SKU', 'Product', 'Variant')`,
    )
      .bind(unique('cli'), id, `var_${i}`, expiresAt)
      .run();
  }
  return id;
}

async function remaining(ids: string[]) {
  const marks = ids.map(() => '?').join(', ');
  const carts = await env.DB.prepare(`SELECT id FROM carts WHERE id IN (${marks}) ORDER BY id`)
    .bind(...ids)
    .all<{ id: string }>();
  const lines = await env.DB.prepare(
    `SELECT cart_id AS id, count(*) AS n FROM cart_lines WHERE cart_id IN (${marks}) GROUP BY cart_id ORDER BY cart_id`,
  )
    .bind(...ids)
    .all<{ id: string; n: number }>();
  return { carts: carts.results.map((r) => r.id), lines: lines.results };
}

describe('cart retention', () => {
  it('deletes carts untouched for a month with their lines, and keeps held, recent, completed and merged ones', async () => {
    const open = await insertCart('open', abandonedAt, [null, NOW.getTime() - 29 * DAY]);
    const empty = await insertCart('open', abandonedAt - 300 * DAY, []);
    const deadCheckout = await insertCart('checking_out', abandonedAt);
    // A line that still records a hold keeps its cart, however old the cart's last write.
    const held = await insertCart('open', abandonedAt, [null, NOW.getTime() + 60_000]);
    const atEdge = await insertCart('open', abandonedAt + 1);
    const recent = await insertCart('open', NOW.getTime() - DAY);
    const completed = await insertCart('completed', abandonedAt - 300 * DAY);
    const merged = await insertCart('merged', abandonedAt - 300 * DAY, []);
    const all = [open, empty, deadCheckout, held, atEdge, recent, completed, merged];

    expect(await pruneAbandonedCarts(env, NOW)).toStrictEqual({ deleted: 3 });

    const kept = [held, atEdge, recent, completed, merged].sort();
    expect(await remaining(all)).toStrictEqual({
      carts: kept,
      lines: [
        { id: held, n: 2 },
        { id: atEdge, n: 1 },
        { id: recent, n: 1 },
        { id: completed, n: 1 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    });
    expect(await pruneAbandonedCarts(env, NOW)).toStrictEqual({ deleted: 0 });

    // A minute later the held cart's hold has lapsed and the edge cart is past the window: both go.
    expect(await pruneAbandonedCarts(env, new Date(NOW.getTime() + 60_001))).toStrictEqual({ deleted: 2 });
    expect((await remaining(all)).carts).toStrictEqual([recent, completed, merged].sort());
  });

  it("keeps a shopper's cart while its line holds stock, and deletes it once the hold has lapsed", async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, 5);
    const { cart, who } = await guestCart();
    const line = (await addLine(cart.id, who, product.variants[0]?.id as string, 2)).lines[0];
    const holdEnds = Date.parse(line?.reservation_expires_at as string);
    // A month without a write, but a hold that has not lapsed yet (as a longer configured hold time would leave).
    await env.DB.prepare('UPDATE carts SET updated_at = ? WHERE id = ?')
      .bind(holdEnds - ABANDONED_CART_RETENTION_MS - DAY, cart.id)
      .run();

    expect(await pruneAbandonedCarts(env, new Date(holdEnds - 1))).toStrictEqual({ deleted: 0 });
    expect((await remaining([cart.id])).lines).toStrictEqual([{ id: cart.id, n: 1 }]);

    expect(await pruneAbandonedCarts(env, new Date(holdEnds + 1))).toStrictEqual({ deleted: 1 });
    expect(await remaining([cart.id])).toStrictEqual({ carts: [], lines: [] });
    const gone = await cartCall('GET', `/carts/${cart.id}`, who);
    expect([gone.status, (await problemOf(gone)).code]).toStrictEqual([404, 'cart_not_found']);
  });

  it(`deletes at most ${CART_PRUNE_LIMIT} carts a run and drains a backlog over the next runs`, async () => {
    const prefix = unique('backlog');
    const backlog = CART_PRUNE_LIMIT + 7;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO carts (id, currency_code, status, created_at, updated_at)
       SELECT ? || '_' || i, 'EUR', 'open', ?, ? FROM n`,
    )
      .bind(backlog, prefix, abandonedAt - DAY, abandonedAt)
      .run();
    await env.DB.prepare(
      `INSERT INTO cart_lines (id, cart_id, variant_id, quantity, sku, product_title, variant_title)
       SELECT 'cli_' || id, id, 'var_1', 1, 'SKU', 'Product', 'Variant' FROM carts WHERE id LIKE ? || '_%'`,
    )
      .bind(prefix)
      .run();
    const count = async (table: 'carts' | 'cart_lines', column: 'id' | 'cart_id') =>
      (
        await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} LIKE ? || '_%'`)
          .bind(prefix)
          .first<{ n: number }>()
      )?.n;

    expect(await pruneAbandonedCarts(env, NOW)).toStrictEqual({ deleted: CART_PRUNE_LIMIT });
    expect([await count('carts', 'id'), await count('cart_lines', 'cart_id')]).toStrictEqual([7, 7]);
    expect(await pruneAbandonedCarts(env, NOW)).toStrictEqual({ deleted: 7 });
    expect([await count('carts', 'id'), await count('cart_lines', 'cart_id')]).toStrictEqual([0, 0]);
  });

  it('finds abandoned carts through carts_status_updated_idx, and their holds through the line index', async () => {
    const query = abandonedCarts(createDb(env.DB), new Date(abandonedAt), NOW).toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail)).toStrictEqual([
      'SEARCH carts USING INDEX carts_status_updated_idx (status=? AND updated_at<?)',
      'CORRELATED SCALAR SUBQUERY 1',
      'SEARCH cart_lines USING INDEX cart_lines_cart_variant_uq (cart_id=?)',
    ]);
  });

  it('logs one job line with what it deleted, and runs every minute', async () => {
    const old = await insertCart('open', Date.now() - ABANDONED_CART_RETENTION_MS - DAY);
    const log = vi.spyOn(console, 'log');

    await runCartRetentionJob(env);

    expect(logLines(log).filter((l) => l.job === 'cart-retention')).toStrictEqual([
      expect.objectContaining({ msg: 'job', status: 'ok', deleted: 1 }),
    ]);
    expect((await remaining([old])).carts).toStrictEqual([]);
    expect(CRON_JOBS['* * * * *']).toContain(runCartRetentionJob);
  });
});
