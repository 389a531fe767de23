/**
 * The vocabulary shared by the InventoryItem Durable Object (src/durable-objects/inventory-item.ts), its thin
 * client (stock.ts) and the D1 journal (journal.ts): what a stock call takes and answers, and the one rule
 * that turns stock figures into a level. Plain types and pure functions, so every layer can import them.
 */
import type { BackorderPolicy, StockLevel, StockSettings } from '../../db/schema';
import type { Actor } from '../../lib/caller';

export type { BackorderPolicy, StockLevel, StockSettings };

/** Upper bound of every quantity, on-hand figure and delta: far beyond real stock, far below 2^53. */
export const MAX_STOCK_QUANTITY = 1_000_000_000;
/** Reservations last between a second and a week; carts use 15 minutes. */
export const MIN_RESERVATION_TTL_MS = 1_000;
export const MAX_RESERVATION_TTL_MS = 7 * 24 * 3_600_000;

/**
 * The level of `available` units under a low-stock threshold. A threshold of 0 (the default) turns the low
 * level off: a SKU is then either in or out of stock.
 */
export function stockLevelOf(available: number, lowStockThreshold: number): StockLevel {
  if (available <= 0) return 'out_of_stock';
  return available <= lowStockThreshold ? 'low_stock' : 'in_stock';
}

/** Which object a call is for. The Worker knows both from D1; the object keeps the latest SKU it was told. */
export type StockRef = { variantId: string; sku?: string };

/** The object's level before and after a call; equal when the call changed no level. */
export type LevelChange = { before: StockLevel; after: StockLevel };

/** Every mutating call answers with the object's state right after it and the level transition it caused. */
type Outcome = { stock: StockSnapshot; level: LevelChange };

export type ReserveInput = {
  /** One per cart line: calling again with the same id adjusts or extends that reservation. */
  reservationId: string;
  /** Who holds it (a cart id); shown to staff and checked on every later call for the id. */
  owner: string;
  quantity: number;
  /** How long the hold lasts from now; the alarm releases it afterwards. */
  ttlMs: number;
};

export type ReserveResult =
  | (Outcome & { ok: true; reservationId: string; quantity: number; expiresAt: number })
  | (Outcome & {
      ok: false;
      /** `insufficient_stock`: not enough free units; `committed`: the reservation was already sold. */
      reason: 'insufficient_stock' | 'committed';
      /** The most this reservation could hold right now (its own active hold included), never below 0. */
      available: number;
    });

export type ReleaseResult = Outcome & {
  released: boolean;
  quantity: number;
  /** The reservation's sale when it was sold already (then nothing was held to release), else null. */
  sold: Sale | null;
};

export type CommitInput = {
  reservationId: string;
  orderId: string;
  /** The order line's quantity: what is sold, whether or not the reservation still holds it. */
  quantity: number;
};

export type CommitResult =
  | (Outcome & {
      ok: true;
      orderId: string;
      quantity: number;
      /** `reservation`: the active hold covered it; `free_stock`: the hold had expired or was short, free units did. */
      source: 'reservation' | 'free_stock';
      /** True when this reservation was already committed: nothing changed, the first sale is returned. */
      replayed: boolean;
    })
  | (Outcome & { ok: false; reason: 'insufficient_stock'; available: number });

/** What a reservation was sold as: recorded once per reservation id by its first commit. */
export type Sale = Pick<Extract<CommitResult, { ok: true }>, 'orderId' | 'quantity' | 'source'>;

/**
 * Who asked for a stock change and why: written to the ledger and to the audit entry. The actor must be known
 * (not anonymous); the request id is the request's, or a job's run id.
 */
export type ChangeSource = { reason: string; actor: Actor; requestId: string };

export type RestockInput = ChangeSource & {
  /** Idempotency key, e.g. `order:<order id>:cancel`: a key already applied changes nothing. */
  key: string;
  quantity: number;
};

export type SetOnHandInput = ChangeSource & { adjustmentId: string; onHand: number };
export type AdjustInput = ChangeSource & { adjustmentId: string; delta: number };

/** A ledger entry, as the object keeps it and as the D1 journal receives it. */
export type StockChange = {
  id: string;
  kind: 'set_on_hand' | 'adjust' | 'restock' | 'configure';
  delta: number;
  onHandBefore: number;
  onHandAfter: number;
  /** For `configure`: the settings before and after. */
  settings: { before: StockSettings; after: StockSettings } | null;
  reason: string;
  actor: Actor;
  requestId: string;
  at: number;
};

export type StockChangeResult =
  | (Outcome & {
      ok: true;
      /** False when this change id was applied before: nothing changed, the first change is returned. */
      applied: boolean;
      change: StockChange;
    })
  | (Outcome & {
      ok: false;
      /** `negative_on_hand`: a decrease below 0; `on_hand_limit`: on-hand would exceed MAX_STOCK_QUANTITY. */
      reason: 'negative_on_hand' | 'on_hand_limit';
    });

export type ConfigureInput = ChangeSource & { changeId: string } & Partial<StockSettings>;

/**
 * What the object holds, in the admin API's words (snake_case, as `GET /v1/admin/inventory/{id}` answers).
 * `available` is `on_hand - reserved`: below 0 only when backordered, or when staff set on-hand under what is
 * reserved (the holds stand; see commit).
 */
export type StockSnapshot = {
  variant_id: string;
  /** The SKU the object was last told; null before any call that carried one. D1 holds the authoritative SKU. */
  sku: string | null;
  on_hand: number;
  reserved: number;
  available: number;
  low_stock_threshold: number;
  backorder: BackorderPolicy;
  level: StockLevel;
  /** Active (unexpired) reservations. */
  reservation_count: number;
};

export type ReservationView = {
  id: string;
  owner: string;
  quantity: number;
  expiresAt: number;
  createdAt: number;
};

/** A page of active reservations, oldest id first; `after` is the last id of the previous page. */
export type ReservationPageInput = { limit: number; after?: string };
export type ReservationPage = { reservations: ReservationView[]; hasMore: boolean };

/**
 * What the object promises to write to D1 (its outbox): a ledger entry to journal and audit, or a level
 * transition to record in `stock_levels` (and raise as an event). Published in `seq` order.
 */
export type StockRecord =
  | { seq: number; kind: 'change'; variantId: string; sku: string | null; change: StockChange }
  | {
      seq: number;
      kind: 'level';
      variantId: string;
      sku: string | null;
      /** The object's level counter: stock_levels only ever moves to a higher one. */
      levelSeq: number;
      level: StockLevel;
      previous: StockLevel;
      available: number;
      at: number;
    };

export type ConfigureResult = Outcome & {
  /** False when this change id was applied before: nothing changed, the first change is returned. */
  applied: boolean;
  change: StockChange;
  settings: StockSettings;
};
