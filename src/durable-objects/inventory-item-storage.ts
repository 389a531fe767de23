/**
 * The InventoryItem object's own SQLite tables and every statement on them, typed. The rules live in
 * inventory-item.ts; this file only reads and writes rows. All calls are synchronous (the SQL API is), so a
 * rule that reads then writes runs with nothing interleaved.
 *
 * Tables (one object = one variant):
 * - `item`: the single row of figures and settings (on-hand, threshold, backorder policy, last level and its
 *   counter, the variant id and SKU it was told).
 * - `reservations`: holds by id (a cart line), owner, quantity, expiry. Expired rows stay until the alarm
 *   deletes them, and every read ignores them (`expires_at > now`).
 * - `ledger`: every on-hand or settings change by id (adjustment id or restock key): the idempotency record of
 *   restock/setOnHand/adjust/configure and the stock history.
 * - `sales`: reservation id -> order id, quantity, source: the idempotency record of commit.
 * - `outbox`: what must reach D1 (ledger entries, level transitions), in order, each with its next attempt time.
 *
 * One more table lives in the same database and belongs to stock-broadcast.ts: `live_product` (the variant's
 * product id, for live stock events).
 */
import type { Actor } from '../lib/caller';
import type {
  BackorderPolicy,
  ReservationView,
  Sale,
  StockChange,
  StockLevel,
  StockRecord,
} from '../modules/inventory/stock-types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS item (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  variant_id TEXT NOT NULL,
  sku TEXT,
  on_hand INTEGER NOT NULL,
  low_stock_threshold INTEGER NOT NULL,
  backorder TEXT NOT NULL,
  level TEXT NOT NULL,
  level_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (expires_at);
CREATE TABLE IF NOT EXISTS ledger (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  delta INTEGER NOT NULL,
  on_hand_before INTEGER NOT NULL,
  on_hand_after INTEGER NOT NULL,
  settings TEXT,
  reason TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sales (
  reservation_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  source TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  next_attempt_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_next_attempt ON outbox (next_attempt_at);
`;

export type ItemRow = {
  variantId: string;
  sku: string | null;
  onHand: number;
  lowStockThreshold: number;
  backorder: BackorderPolicy;
  /** The level as last recorded; time alone (a reservation expiring) can make the current one differ. */
  level: StockLevel;
  levelSeq: number;
};

export type ReservationRow = { id: string; owner: string; quantity: number; expiresAt: number };

type Row = Record<string, SqlStorageValue>;

/** A record before the outbox numbers it (Omit applied to each kind of the union). */
type Unsequenced<R> = R extends StockRecord ? Omit<R, 'seq'> : never;
type UnsequencedRecord = Unsequenced<StockRecord>;

const num = (value: SqlStorageValue | undefined) => Number(value ?? 0);
const str = (value: SqlStorageValue | undefined) => String(value);

export class StockStorage {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  private first(query: string, ...bindings: unknown[]): Row | undefined {
    return this.sql.exec<Row>(query, ...bindings).toArray()[0];
  }

  item(): ItemRow | null {
    const row = this.first('SELECT * FROM item WHERE id = 1');
    if (!row) return null;
    return {
      variantId: str(row.variant_id),
      sku: row.sku === null ? null : str(row.sku),
      onHand: num(row.on_hand),
      lowStockThreshold: num(row.low_stock_threshold),
      backorder: str(row.backorder) as BackorderPolicy,
      level: str(row.level) as StockLevel,
      levelSeq: num(row.level_seq),
    };
  }

  saveItem(item: ItemRow): void {
    this.sql.exec(
      `INSERT INTO item (id, variant_id, sku, on_hand, low_stock_threshold, backorder, level, level_seq)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET variant_id = excluded.variant_id, sku = excluded.sku,
         on_hand = excluded.on_hand, low_stock_threshold = excluded.low_stock_threshold,
         backorder = excluded.backorder, level = excluded.level, level_seq = excluded.level_seq`,
      item.variantId,
      item.sku,
      item.onHand,
      item.lowStockThreshold,
      item.backorder,
      item.level,
      item.levelSeq,
    );
  }

  /** Units held by reservations that have not expired at `now`. */
  activeReserved(now: number): number {
    return num(this.first('SELECT SUM(quantity) AS n FROM reservations WHERE expires_at > ?', now)?.n);
  }

  activeCount(now: number): number {
    return num(this.first('SELECT COUNT(*) AS n FROM reservations WHERE expires_at > ?', now)?.n);
  }

  /** The reservation row, expired or not. */
  reservation(id: string): ReservationRow | null {
    const row = this.first('SELECT id, owner, quantity, expires_at FROM reservations WHERE id = ?', id);
    return row
      ? {
          id: str(row.id),
          owner: str(row.owner),
          quantity: num(row.quantity),
          expiresAt: num(row.expires_at),
        }
      : null;
  }

  /** Creates the reservation, or replaces its quantity and expiry (an expired row counts as new again). */
  putReservation(row: ReservationRow, now: number): void {
    this.sql.exec(
      `INSERT INTO reservations (id, owner, quantity, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET quantity = excluded.quantity, expires_at = excluded.expires_at`,
      row.id,
      row.owner,
      row.quantity,
      row.expiresAt,
      now,
    );
  }

  deleteReservation(id: string): void {
    this.sql.exec('DELETE FROM reservations WHERE id = ?', id);
  }

  /** Deletes every reservation expired at `now`. */
  deleteExpired(now: number): void {
    this.sql.exec('DELETE FROM reservations WHERE expires_at <= ?', now);
  }

  /** Active reservations after `after` (by id), at most `limit`, plus whether more follow. */
  activeReservations(now: number, limit: number, after: string | undefined) {
    const rows = this.sql
      .exec<Row>(
        `SELECT id, owner, quantity, expires_at, created_at FROM reservations
         WHERE expires_at > ? AND id > ? ORDER BY id LIMIT ?`,
        now,
        after ?? '',
        limit + 1,
      )
      .toArray();
    const reservations: ReservationView[] = rows.slice(0, limit).map((row) => ({
      id: str(row.id),
      owner: str(row.owner),
      quantity: num(row.quantity),
      expiresAt: num(row.expires_at),
      createdAt: num(row.created_at),
    }));
    return { reservations, hasMore: rows.length > limit };
  }

  sale(reservationId: string): Sale | null {
    const row = this.first(
      'SELECT order_id, quantity, source FROM sales WHERE reservation_id = ?',
      reservationId,
    );
    return row
      ? { orderId: str(row.order_id), quantity: num(row.quantity), source: str(row.source) as Sale['source'] }
      : null;
  }

  insertSale(reservationId: string, sale: Sale, now: number): void {
    this.sql.exec(
      'INSERT INTO sales (reservation_id, order_id, quantity, source, at) VALUES (?, ?, ?, ?, ?)',
      reservationId,
      sale.orderId,
      sale.quantity,
      sale.source,
      now,
    );
  }

  change(id: string): StockChange | null {
    const row = this.first('SELECT * FROM ledger WHERE id = ?', id);
    if (!row) return null;
    return {
      id: str(row.id),
      kind: str(row.kind) as StockChange['kind'],
      delta: num(row.delta),
      onHandBefore: num(row.on_hand_before),
      onHandAfter: num(row.on_hand_after),
      settings: row.settings === null ? null : JSON.parse(str(row.settings)),
      reason: str(row.reason),
      actor: { type: str(row.actor_type), id: str(row.actor_id) } as Actor,
      requestId: str(row.request_id),
      at: num(row.at),
    };
  }

  insertChange(change: StockChange): void {
    this.sql.exec(
      `INSERT INTO ledger (id, kind, delta, on_hand_before, on_hand_after, settings, reason, actor_type,
         actor_id, request_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      change.id,
      change.kind,
      change.delta,
      change.onHandBefore,
      change.onHandAfter,
      change.settings === null ? null : JSON.stringify(change.settings),
      change.reason,
      change.actor.type,
      change.actor.id,
      change.requestId,
      change.at,
    );
  }

  /** Queues a record for D1; `firstAttemptAt` is when the alarm tries it if nothing published it before. */
  appendRecord(record: UnsequencedRecord, firstAttemptAt: number): void {
    this.sql.exec(
      'INSERT INTO outbox (body, next_attempt_at) VALUES (?, ?)',
      JSON.stringify(record),
      firstAttemptAt,
    );
  }

  oldestRecord(): StockRecord | null {
    const row = this.first('SELECT seq, body FROM outbox ORDER BY seq LIMIT 1');
    return row ? ({ ...JSON.parse(str(row.body)), seq: num(row.seq) } as StockRecord) : null;
  }

  deleteRecord(seq: number): void {
    this.sql.exec('DELETE FROM outbox WHERE seq = ?', seq);
  }

  pendingRecords(): number {
    return num(this.first('SELECT COUNT(*) AS n FROM outbox')?.n);
  }

  /** After a failed publish: nothing is tried again before `at`. */
  postponeRecords(at: number): void {
    this.sql.exec('UPDATE outbox SET next_attempt_at = ?', at);
  }

  /** When the alarm must next run: the earliest reservation expiry or outbox attempt, or null for never. */
  nextDueAt(): number | null {
    const row = this.first(
      `SELECT MIN(t) AS due FROM (
         SELECT MIN(expires_at) AS t FROM reservations UNION ALL SELECT MIN(next_attempt_at) FROM outbox)`,
    );
    return row?.due === null || row?.due === undefined ? null : num(row.due);
  }
}
