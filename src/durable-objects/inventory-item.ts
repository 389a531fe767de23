/**
 * One variant's stock, and its only writer: one object per variant (`idFromName(variantId)`). Every rule that
 * must not race (never reserve or sell more than exists, each reservation and sale applied once) runs here,
 * on the object's own SQLite storage (inventory-item-storage.ts), serialized by the runtime. Call it through
 * src/modules/inventory/stock.ts.
 *
 * - Reservations expire on their own: reads ignore expired rows at once, and the object's ONE alarm, never
 *   later than the earliest due time, deletes them and records what that did to the level.
 * - D1 never sits inside a rule. Each rule is one synchronous storage transaction; what D1 must learn (ledger
 *   entries to journal and audit, level transitions) is appended to the object's outbox in that transaction
 *   and published afterwards, in order, by one publisher that awaits D1 with no rule open, so other calls on
 *   the SKU proceed meanwhile. A failed publish is retried by the alarm every PUBLISH_RETRY_MS; D1 takes each
 *   record once (journal.ts), so a repeat after a crash changes nothing.
 * - Idempotency: reserve per reservation id (again = adjust or extend), release per id, commit per
 *   reservation id (the sales table), restock per key and staff changes per change id (the ledger).
 * - Live: after every write (and alarm run) the figures a shopper may see go to the product's live topic
 *   (stock-broadcast.ts), in `waitUntil`, never holding up the SKU or failing its write.
 */
import { DurableObject } from 'cloudflare:workers';
import { BACKORDER_POLICIES } from '../db/schema';
import type { Actor } from '../lib/caller';
import { MAX_CHANGE_ID_LENGTH, MAX_ID_LENGTH as MAX_EVENT_ID_LENGTH } from '../lib/event-catalog';
import { createLogger, describeError } from '../lib/logger';
import { publishStockRecord } from '../modules/inventory/journal';
import {
  type AdjustInput,
  type ChangeSource,
  type CommitInput,
  type CommitResult,
  type ConfigureInput,
  type ConfigureResult,
  type LevelChange,
  MAX_RESERVATION_TTL_MS,
  MAX_STOCK_QUANTITY,
  MIN_RESERVATION_TTL_MS,
  type ReleaseResult,
  type ReservationPage,
  type ReservationPageInput,
  type ReserveInput,
  type ReserveResult,
  type RestockInput,
  type SetOnHandInput,
  type StockChange,
  type StockChangeResult,
  type StockRef,
  type StockSnapshot,
  stockLevelOf,
} from '../modules/inventory/stock-types';
import { type ItemRow, StockStorage } from './inventory-item-storage';
import { StockBroadcast } from './stock-broadcast';

/** How long an unpublished record waits before the alarm tries it, and between attempts while D1 fails. */
export const PUBLISH_RETRY_MS = 30_000;

/** Reservation, owner, order, actor and request ids; change ids and variant ids are bounded as events need them. */
const MAX_ID_LENGTH = 200;
const MAX_REASON_LENGTH = 500;
const KNOWN_ACTORS = new Set<Actor['type']>(['staff', 'secret_key', 'customer', 'system']);

// Inputs come from our own Worker code, already validated at the API; these checks keep a caller's bug from
// storing something the outbox could never publish (an anonymous actor, a non-integer quantity, an id longer
// than the event catalog takes).
function checkId(value: unknown, name: string, max = MAX_ID_LENGTH): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new TypeError(`${name} must be a string of 1-${max} characters`);
  }
}

function checkInteger(value: unknown, name: string, min: number, max = MAX_STOCK_QUANTITY): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
}

function checkSource(source: ChangeSource): void {
  if (
    typeof source.reason !== 'string' ||
    source.reason.trim() === '' ||
    source.reason.length > MAX_REASON_LENGTH
  ) {
    throw new TypeError(`reason must be 1-${MAX_REASON_LENGTH} characters`);
  }
  if (!KNOWN_ACTORS.has(source.actor?.type)) throw new TypeError('a stock change needs a known actor');
  checkId(source.actor.id, 'actor.id');
  checkId(source.requestId, 'requestId');
}

const defaultItem = (ref: StockRef): ItemRow => ({
  variantId: ref.variantId,
  sku: ref.sku ?? null,
  onHand: 0,
  lowStockThreshold: 0,
  backorder: 'deny',
  level: 'out_of_stock',
  levelSeq: 0,
});

export class InventoryItem extends DurableObject<Env> {
  private readonly store: StockStorage;
  private readonly live: StockBroadcast;
  /** The alarm as last set (null: none): read at start-up and at every run, kept in step by every set. */
  private alarmAt: number | null = null;
  /** The publisher in flight, if any: there is at most one, so records reach D1 in order. */
  private publishing: Promise<void> | undefined;
  /** Set when a rule queued a record: only such writes start the publisher, not every call while D1 is down. */
  private queued = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new StockStorage(ctx.storage.sql);
    this.live = new StockBroadcast(ctx.storage.sql, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Holds `quantity` units for `reservationId` until `ttlMs` from now. Again with the same id: another
   * quantity adjusts the hold (a cart line's quantity changed), the same quantity only extends it; a hold that
   * does not fit leaves the existing one as it was. Never takes available below 0 unless backorders are allowed,
   * but a hold that does not grow stands as commit would honour it (checkout re-reserves every line before it
   * commits, and a shopper lowering a line after a recount asks for nothing).
   */
  async reserve(ref: StockRef, input: ReserveInput): Promise<ReserveResult> {
    checkId(input.reservationId, 'reservationId');
    checkId(input.owner, 'owner');
    checkInteger(input.quantity, 'quantity', 1);
    checkInteger(input.ttlMs, 'ttlMs', MIN_RESERVATION_TTL_MS, MAX_RESERVATION_TTL_MS);
    return this.write(ref, (item, now): ReserveResult => {
      const existing = this.store.reservation(input.reservationId);
      if (existing && existing.owner !== input.owner) {
        throw new Error(`reservation ${input.reservationId} belongs to another owner`);
      }
      const held = existing && existing.expiresAt > now ? existing.quantity : 0;
      const most = this.mostFor(item, held, now);
      if (this.store.sale(input.reservationId)) {
        return {
          ok: false,
          reason: 'committed',
          available: Math.max(0, most),
          ...this.settle(item, now, false),
        };
      }
      if (item.backorder === 'deny' && input.quantity > most) {
        return {
          ok: false,
          reason: 'insufficient_stock',
          available: Math.max(0, most),
          ...this.settle(item, now, false),
        };
      }
      const expiresAt = now + input.ttlMs;
      this.store.putReservation(
        { id: input.reservationId, owner: input.owner, quantity: input.quantity, expiresAt },
        now,
      );
      return {
        ok: true,
        reservationId: input.reservationId,
        quantity: input.quantity,
        expiresAt,
        ...this.settle(item, now, false),
      };
    });
  }

  /**
   * Frees the reservation. Releasing one that is gone, expired or never existed is a no-op (`released: false`);
   * one that was sold answers its sale (`sold`), so a caller giving an order's units back knows to restock them.
   */
  async release(ref: StockRef, reservationId: string): Promise<ReleaseResult> {
    checkId(reservationId, 'reservationId');
    return this.write(ref, (item, now): ReleaseResult => {
      const existing = this.store.reservation(reservationId);
      if (existing) this.store.deleteReservation(reservationId);
      const quantity = existing && existing.expiresAt > now ? existing.quantity : 0;
      const sold = this.store.sale(reservationId);
      return { released: quantity > 0, quantity, sold, ...this.settle(item, now, false) };
    });
  }

  /**
   * Turns a reservation into a sale of `quantity` units for `orderId`: on-hand goes down, the hold goes away.
   * Once per reservation id: a repeat returns the first sale (`replayed: true`), whatever order id it names.
   *
   * When the hold no longer covers `quantity` (it expired, the alarm already released it, or it is smaller),
   * the sale takes free units instead, never units other active reservations hold; if there are not enough,
   * it answers `{ ok: false, reason: 'insufficient_stock' }` and changes nothing, and the caller decides (a
   * checkout refuses with 409, or cancels and refunds). An active hold that covers the quantity is honoured
   * even when staff have since set on-hand under the total reserved, as long as the units exist.
   */
  async commit(ref: StockRef, input: CommitInput): Promise<CommitResult> {
    checkId(input.reservationId, 'reservationId');
    checkId(input.orderId, 'orderId');
    checkInteger(input.quantity, 'quantity', 1);
    return this.write(ref, (item, now): CommitResult => {
      const sale = this.store.sale(input.reservationId);
      if (sale) return { ok: true, ...sale, replayed: true, ...this.settle(item, now, false) };
      const existing = this.store.reservation(input.reservationId);
      const held = existing && existing.expiresAt > now ? existing.quantity : 0;
      const most = this.mostFor(item, held, now);
      if (item.backorder === 'deny' && input.quantity > most) {
        return {
          ok: false,
          reason: 'insufficient_stock',
          available: Math.max(0, most),
          ...this.settle(item, now, false),
        };
      }
      if (existing) this.store.deleteReservation(input.reservationId);
      item.onHand -= input.quantity;
      const made = {
        orderId: input.orderId,
        quantity: input.quantity,
        source: held >= input.quantity ? ('reservation' as const) : ('free_stock' as const),
      };
      this.store.insertSale(input.reservationId, made, now);
      return { ok: true, ...made, replayed: false, ...this.settle(item, now, true) };
    });
  }

  /** Puts `quantity` units back (an order canceled), once per `key`. */
  async restock(ref: StockRef, input: RestockInput): Promise<StockChangeResult> {
    checkId(input.key, 'key', MAX_CHANGE_ID_LENGTH);
    checkInteger(input.quantity, 'quantity', 1);
    checkSource(input);
    return this.applyChange(ref, input.key, input, (item) => ({
      kind: 'restock',
      onHandAfter: item.onHand + input.quantity,
    }));
  }

  /** Sets on-hand to a counted figure, once per `adjustmentId`. Reservations stand (see commit). */
  async setOnHand(ref: StockRef, input: SetOnHandInput): Promise<StockChangeResult> {
    checkId(input.adjustmentId, 'adjustmentId', MAX_CHANGE_ID_LENGTH);
    checkInteger(input.onHand, 'onHand', 0);
    checkSource(input);
    return this.applyChange(ref, input.adjustmentId, input, () => ({
      kind: 'set_on_hand',
      onHandAfter: input.onHand,
    }));
  }

  /**
   * Changes on-hand by `delta`, once per `adjustmentId`. A decrease may not take on-hand below 0 (`ok: false,
   * reason: 'negative_on_hand'`); an increase is always allowed, also onto backordered (negative) stock.
   */
  async adjust(ref: StockRef, input: AdjustInput): Promise<StockChangeResult> {
    checkId(input.adjustmentId, 'adjustmentId', MAX_CHANGE_ID_LENGTH);
    checkInteger(input.delta, 'delta', -MAX_STOCK_QUANTITY);
    if (input.delta === 0) throw new RangeError('delta must not be 0');
    checkSource(input);
    return this.applyChange(ref, input.adjustmentId, input, (item) => ({
      kind: 'adjust',
      onHandAfter: item.onHand + input.delta,
    }));
  }

  /** Sets the low-stock threshold and/or the backorder policy, once per `changeId`. */
  async configure(ref: StockRef, input: ConfigureInput): Promise<ConfigureResult> {
    checkId(input.changeId, 'changeId', MAX_CHANGE_ID_LENGTH);
    if (input.lowStockThreshold !== undefined) checkInteger(input.lowStockThreshold, 'lowStockThreshold', 0);
    if (input.backorder !== undefined && !BACKORDER_POLICIES.includes(input.backorder)) {
      throw new TypeError('backorder must be allow or deny');
    }
    checkSource(input);
    return this.write(ref, (item, now): ConfigureResult => {
      const prior = this.store.change(input.changeId);
      const settings = (row: ItemRow) => ({
        lowStockThreshold: row.lowStockThreshold,
        backorder: row.backorder,
      });
      if (prior)
        return { applied: false, change: prior, settings: settings(item), ...this.settle(item, now, false) };
      const before = settings(item);
      item.lowStockThreshold = input.lowStockThreshold ?? item.lowStockThreshold;
      item.backorder = input.backorder ?? item.backorder;
      const change = this.record(item, input.changeId, input, now, {
        kind: 'configure',
        onHandAfter: item.onHand,
        settings: { before, after: settings(item) },
      });
      return { applied: true, change, settings: settings(item), ...this.settle(item, now, true) };
    });
  }

  /** The stock right now; reads never write (a never-stocked variant answers with zeros and is not created). */
  async snapshot(ref: StockRef): Promise<StockSnapshot> {
    const now = Date.now();
    return this.snapshotOf(this.itemFor(ref), now, this.store.activeReserved(now));
  }

  /** A page of the active reservations, by id. */
  async reservations(ref: StockRef, page: ReservationPageInput): Promise<ReservationPage> {
    this.itemFor(ref);
    checkInteger(page.limit, 'limit', 1, 100);
    return this.store.activeReservations(Date.now(), page.limit, page.after);
  }

  /**
   * Publishes every pending record to D1 now and answers how many are still pending (0 unless D1 failed; the
   * alarm then retries). Staff writes call it so their audit entry exists when they answer.
   */
  async flush(): Promise<{ pending: number }> {
    await this.publish().catch(() => undefined);
    await this.rearm();
    return { pending: this.store.pendingRecords() };
  }

  /**
   * Due reservations expire and pending records are retried. Delivered at least once: running it again, or
   * early, finds nothing to do; it never throws, so the runtime never gives up on it.
   */
  override async alarm(): Promise<void> {
    // The runtime cleared the alarm to run this one; read it anyway, so a run from anywhere else leaves the
    // cached time true.
    this.alarmAt = await this.ctx.storage.getAlarm();
    const stock = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      // Deleting expired rows changes no figure (reads ignore them already), but the level may have moved
      // with time since it was last recorded.
      this.store.deleteExpired(now);
      const item = this.store.item();
      return item ? this.settle(item, now, false).stock : null;
    });
    if (stock) this.broadcast(stock);
    this.queued = false;
    await this.publish().catch(() => undefined);
    await this.rearm();
  }

  /**
   * Runs one rule as a storage transaction (all or nothing), then starts publishing what it queued and
   * re-arms the alarm. The publisher runs on after the answer; nothing here waits for D1.
   */
  private async write<R extends { stock: StockSnapshot }>(
    ref: StockRef,
    rule: (item: ItemRow, now: number) => R,
  ): Promise<R> {
    const result = this.ctx.storage.transactionSync(() => {
      const stored = this.store.item();
      const item = this.itemFor(ref, stored);
      const answer = rule(item, Date.now());
      // A SKU renamed in the catalog reaches the object with the next call that carries it.
      if (stored && stored.sku !== item.sku) this.store.saveItem(item);
      return answer;
    });
    this.broadcast(result.stock);
    if (this.queued) {
      this.queued = false;
      const rearm = () => this.rearm();
      this.ctx.waitUntil(this.publish().then(rearm, rearm));
    }
    await this.rearm();
    return result;
  }

  /**
   * The most units a reservation holding `held` active units may keep or sell now without backorders: its own
   * hold is honoured while the units exist, even after staff counted less than is reserved (so it may be kept,
   * extended or shrunk); more than it holds must come from free units, never from other holds.
   */
  private mostFor(item: ItemRow, held: number, now: number): number {
    const free = item.onHand - (this.store.activeReserved(now) - held);
    return Math.max(free, Math.min(held, item.onHand));
  }

  /** Sends the figures to the product's live topic after the write, off the SKU's path. */
  private broadcast(stock: StockSnapshot): void {
    const sending = this.live.offer(stock);
    if (sending) this.ctx.waitUntil(sending);
  }

  /** The stored item (defaults for a variant never stocked) with the SKU the Worker passed, if any; not saved. */
  private itemFor(ref: StockRef, item = this.store.item()): ItemRow {
    checkId(ref.variantId, 'variantId', MAX_EVENT_ID_LENGTH);
    if (!item) return defaultItem(ref);
    if (item.variantId !== ref.variantId) {
      throw new Error(`the stock object of ${item.variantId} was called for ${ref.variantId}`);
    }
    return { ...item, sku: ref.sku ?? item.sku };
  }

  /** Applies an on-hand change once per id: a repeated id answers with the change as first applied. */
  private applyChange(
    ref: StockRef,
    id: string,
    source: ChangeSource,
    plan: (item: ItemRow) => { kind: StockChange['kind']; onHandAfter: number },
  ): Promise<StockChangeResult> {
    return this.write(ref, (item, now): StockChangeResult => {
      const prior = this.store.change(id);
      if (prior) return { ok: true, applied: false, change: prior, ...this.settle(item, now, false) };
      const { kind, onHandAfter } = plan(item);
      // A decrease may not go below 0; an increase onto backordered (negative) stock may stay below it.
      if (onHandAfter < 0 && onHandAfter < item.onHand) {
        return { ok: false, reason: 'negative_on_hand', ...this.settle(item, now, false) };
      }
      if (onHandAfter > MAX_STOCK_QUANTITY) {
        return { ok: false, reason: 'on_hand_limit', ...this.settle(item, now, false) };
      }
      const change = this.record(item, id, source, now, { kind, onHandAfter, settings: null });
      item.onHand = onHandAfter;
      return { ok: true, applied: true, change, ...this.settle(item, now, true) };
    });
  }

  /** Writes a ledger entry and queues it for the D1 journal. */
  private record(
    item: ItemRow,
    id: string,
    source: ChangeSource,
    now: number,
    what: Pick<StockChange, 'kind' | 'onHandAfter' | 'settings'>,
  ): StockChange {
    const change: StockChange = {
      id,
      ...what,
      delta: what.onHandAfter - item.onHand,
      onHandBefore: item.onHand,
      reason: source.reason,
      actor: { type: source.actor.type, id: source.actor.id },
      requestId: source.requestId,
      at: now,
    };
    this.store.insertChange(change);
    this.queued = true;
    this.store.appendRecord(
      { kind: 'change', variantId: item.variantId, sku: item.sku, change },
      now + PUBLISH_RETRY_MS,
    );
    return change;
  }

  /**
   * Saves the item if the rule changed it, and records a level transition if its level moved (counted by
   * `levelSeq` and queued for D1). Returns the state and the transition for the call's answer.
   */
  private settle(
    item: ItemRow,
    now: number,
    itemChanged: boolean,
  ): { stock: StockSnapshot; level: LevelChange } {
    const reserved = this.store.activeReserved(now);
    const before = item.level;
    const after = stockLevelOf(item.onHand - reserved, item.lowStockThreshold);
    if (after !== before) {
      item.level = after;
      item.levelSeq += 1;
      this.queued = true;
      this.store.appendRecord(
        {
          kind: 'level',
          variantId: item.variantId,
          sku: item.sku,
          levelSeq: item.levelSeq,
          level: after,
          previous: before,
          available: item.onHand - reserved,
          at: now,
        },
        now + PUBLISH_RETRY_MS,
      );
    }
    if (itemChanged || after !== before) this.store.saveItem(item);
    return { stock: this.snapshotOf(item, now, reserved), level: { before, after } };
  }

  private snapshotOf(item: ItemRow, now: number, reserved: number): StockSnapshot {
    const available = item.onHand - reserved;
    return {
      variant_id: item.variantId,
      sku: item.sku,
      on_hand: item.onHand,
      reserved,
      available,
      low_stock_threshold: item.lowStockThreshold,
      backorder: item.backorder,
      level: stockLevelOf(available, item.lowStockThreshold),
      reservation_count: this.store.activeCount(now),
    };
  }

  /**
   * Publishes pending records oldest first until none is left. One publisher at a time: a call while one runs
   * joins it (the running loop picks up records queued meanwhile). A failure postpones every pending record by
   * PUBLISH_RETRY_MS for the alarm, is logged, and rejects.
   */
  private publish(): Promise<void> {
    this.publishing ??= (async () => {
      try {
        await this.drainOutbox();
      } finally {
        this.publishing = undefined;
      }
    })();
    return this.publishing;
  }

  private async drainOutbox(): Promise<void> {
    for (let record = this.store.oldestRecord(); record; record = this.store.oldestRecord()) {
      try {
        await publishStockRecord(this.env, record);
      } catch (error) {
        this.store.postponeRecords(Date.now() + PUBLISH_RETRY_MS);
        createLogger({ durable_object: 'InventoryItem', variant_id: record.variantId }).error(
          'stock record not published; the alarm retries it',
          { record_seq: record.seq, record_kind: record.kind, ...describeError(error) },
        );
        throw error;
      }
      this.store.deleteRecord(record.seq);
    }
  }

  /**
   * Keeps the one alarm no later than the next due time (earliest expiry or record attempt). An alarm that is
   * earlier than needed is left alone: it wakes the object, finds nothing due and re-arms exactly. So a hold
   * released or extended costs no alarm write (each is a durable storage write; on the hot path they were a
   * third of a reservation's cost, bench/inventory-hot-sku.mjs); only an earlier due time moves the alarm.
   * The due time is read and the alarm set in one synchronous step, so concurrent calls cannot interleave.
   */
  private rearm(): Promise<void> {
    const due = this.store.nextDueAt();
    if (due === null || (this.alarmAt !== null && this.alarmAt <= due)) return Promise.resolve();
    this.alarmAt = due;
    return this.ctx.storage.setAlarm(due);
  }
}
