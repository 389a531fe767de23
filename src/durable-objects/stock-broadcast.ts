/**
 * An InventoryItem's live stock: after each write, what a shopper may know of the variant (available, level,
 * backorder, purchasable; `shopperStock`) goes to its product's topic (`product:<id>`) if it differs from what
 * was sent last. Never on the SKU's path: the object offers the figures after its rule has committed, and the
 * send runs in `waitUntil`. One send at a time; figures offered meanwhile replace each other, so a hot SKU sends
 * at the pace its channel takes them and the latest figures always go last. A failed send is logged and not
 * retried: the next change sends the then-latest figures, which are absolute.
 *
 * The variant's product id is read from D1 once and kept in the object's own storage (a variant never moves to
 * another product); a variant D1 does not know (yet) is looked up again after the object wakes.
 */

import { productTopic } from '../lib/live-messages';
import { publishLive } from '../lib/live-publish';
import { createLogger, describeError } from '../lib/logger';
import type { StockSnapshot } from '../modules/inventory/stock-types';
import { shopperStock } from '../modules/inventory/store-schemas';

type ShopperStock = ReturnType<typeof shopperStock>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS live_product (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  product_id TEXT NOT NULL
);
`;

export class StockBroadcast {
  private latest: ShopperStock | null = null;
  /** The figures last sent, as JSON (memory only: after a wake-up the first figures are sent again, harmlessly). */
  private lastSent: string | null = null;
  private sending: Promise<void> | undefined;
  /** Set when D1 had no such variant: not asked again until the object wakes anew. */
  private notInCatalog = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {
    sql.exec(SCHEMA);
  }

  /** Offers the figures after a write; returns the send it started, for `waitUntil` (none if one is running). */
  offer(snapshot: StockSnapshot): Promise<void> | undefined {
    this.latest = shopperStock(snapshot);
    if (this.sending) return undefined;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async drain(): Promise<void> {
    for (let stock = this.latest; stock; stock = this.latest) {
      this.latest = null;
      const json = JSON.stringify(stock);
      if (json === this.lastSent) continue;
      try {
        const productId = await this.productId(stock.variant_id);
        if (productId === null) return;
        await publishLive(this.env.LIVE_CHANNEL, productTopic(productId), {
          type: 'stock',
          data: { product_id: productId, ...stock },
        });
        this.lastSent = json;
      } catch (error) {
        createLogger({ durable_object: 'InventoryItem', variant_id: stock.variant_id }).error(
          'live stock not sent; the next change sends the latest figures',
          describeError(error),
        );
        return;
      }
    }
  }

  private async productId(variantId: string): Promise<string | null> {
    const stored = this.sql.exec<{ product_id: string }>('SELECT product_id FROM live_product').toArray()[0];
    if (stored) return stored.product_id;
    if (this.notInCatalog) return null;
    const row = await this.env.DB.prepare('SELECT product_id FROM variants WHERE id = ?')
      .bind(variantId)
      .first<{ product_id: string }>();
    if (!row) {
      this.notInCatalog = true;
      return null;
    }
    this.sql.exec('INSERT OR REPLACE INTO live_product (id, product_id) VALUES (1, ?)', row.product_id);
    return row.product_id;
  }
}
