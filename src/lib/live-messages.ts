/**
 * The live protocol (docs/LIVE.md): every message a client and edgecart exchange over `/v1/live` (WebSocket) and
 * `/v1/live/sse` (Server-Sent Events), as versioned zod schemas. The server parses what clients send with
 * `LiveClientMessage` and checks what it publishes with `LiveEventDraft`; a client parses what it receives with
 * `LiveServerMessage`. Imports nothing but zod (and types), so a browser client can bundle this file as it is.
 *
 * Every server message has `v` (the protocol version) and `type`. Events (stock, prices, order status, the staff
 * feed) also have `topic`, `seq` (per topic, assigned by the topic's channel, increasing by one per event), `at`
 * and `data`; data values are absolute (the stock now, the status now), so applying one twice is harmless.
 */
import { z } from 'zod';
import type { BackorderPolicy, OrderStatus, PaymentStatus, StockLevel } from '../db/schema';

export const LIVE_PROTOCOL_VERSION = 1;

/** What one connection may do (WebSocket and SSE alike). */
export const LIVE_LIMITS = {
  /** A client message larger than this (UTF-8 bytes) is refused unread. */
  maxClientMessageBytes: 4096,
  /** Topics one connection may follow at once. */
  maxSubscriptions: 20,
  /** Client messages: a burst of this many, refilled at `messagesPerSecond`. */
  messageBurst: 30,
  messagesPerSecond: 2,
  /** Refused messages in a row (over the rate) before the connection is closed. */
  maxRefusedInARow: 10,
  /** Bytes queued for a client that has not read them; beyond this it is dropped as too slow. */
  maxBacklogBytes: 1_048_576,
} as const;

/** WebSocket close codes edgecart sends (4000-4999 are for applications, RFC 6455 section 7.4.2). */
export const LIVE_CLOSE_CODES = {
  /** Kept sending over the rate limit after being told. */
  policyViolation: 1008,
  /** A direct connection's (GET /v1/live/channel) ticket grant ran out: get a new ticket and reconnect. */
  expired: 4001,
  /** A direct connection's product was taken off sale (unpublished, archived or deleted): do not reconnect. */
  withdrawn: 4004,
  /** Did not read fast enough: reconnect and subscribe with `after_seq` to catch up. */
  slowConsumer: 4008,
} as const;

// ---------------------------------------------------------------------------------------------- topics

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
export const STAFF_FEED_TOPIC = 'staff:feed';
const TOPIC_PATTERN = new RegExp(`^(?:product:prod_${ULID}|order:ord_${ULID}|staff:feed)$`);

export type Topic = `product:${string}` | `order:${string}` | typeof STAFF_FEED_TOPIC;
export type TopicKind = 'product' | 'order' | 'staff';

export const LiveTopic = z
  .string()
  .max(64)
  .regex(TOPIC_PATTERN, 'Not a topic: product:<product id>, order:<order id> or staff:feed')
  .transform((topic) => topic as Topic);

export const productTopic = (productId: string): Topic => `product:${productId}`;
export const orderTopic = (orderId: string): Topic => `order:${orderId}`;

export function topicKind(topic: Topic): TopicKind {
  return topic === STAFF_FEED_TOPIC ? 'staff' : (topic.slice(0, topic.indexOf(':')) as TopicKind);
}

/** The id after `product:` or `order:`. */
export const topicSubject = (topic: Topic): string => topic.slice(topic.indexOf(':') + 1);

// ------------------------------------------------------------------------------------- client messages

const Version = z.literal(LIVE_PROTOCOL_VERSION).optional();

const Subscribe = z.strictObject({
  v: Version,
  type: z.literal('subscribe'),
  topic: LiveTopic,
  /** The last seq received on this topic: what came after it is replayed, or `resync` says it is gone. */
  after_seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** A ticket naming this topic (POST /v1/live/tickets), when the connection's own ticket does not. */
  ticket: z.string().min(1).max(4096).optional(),
});

export const LiveClientMessage = z.discriminatedUnion('type', [
  Subscribe,
  z.strictObject({ v: Version, type: z.literal('unsubscribe'), topic: LiveTopic }),
  z.strictObject({ v: Version, type: z.literal('ping') }),
]);
export type LiveClientMessage = z.infer<typeof LiveClientMessage>;

// ---------------------------------------------------------------------------------------- event data

const STOCK_LEVELS = ['in_stock', 'low_stock', 'out_of_stock'] as const satisfies readonly StockLevel[];
const BACKORDER_POLICIES = ['allow', 'deny'] as const satisfies readonly BackorderPolicy[];
const PAYMENT_STATUSES = [
  'requires_action',
  'authorized',
  'captured',
  'partially_refunded',
  'refunded',
  'voided',
  'failed',
] as const satisfies readonly PaymentStatus[];

const ORDER_STATUSES = [
  'pending_payment',
  'paid',
  'partially_fulfilled',
  'fulfilled',
  'delivered',
  'canceled',
  'partially_refunded',
  'refunded',
] as const satisfies readonly OrderStatus[];

/** An id of ours (`prefix_...`); topics are stricter (a ULID body), data only needs to be well formed. */
const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9A-Za-z_-]{1,64}$`));
const currency = z.string().regex(/^[A-Z]{3}$/);
const country = z.string().regex(/^[A-Z]{2}$/);
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A variant's stock as a shopper may know it (GET /v1/store/products/{id}/availability shows the same). */
export const StockData = z.strictObject({
  product_id: id('prod'),
  variant_id: id('var'),
  available: z.number().int().min(0),
  level: z.enum(STOCK_LEVELS),
  backorder: z.enum(BACKORDER_POLICIES),
  purchasable: z.boolean(),
});

/** A variant's prices after a change: the whole list, one per currency sold. */
export const PriceData = z.strictObject({
  product_id: id('prod'),
  variant_id: id('var'),
  prices: z.array(z.strictObject({ currency, amount: minorUnits })).max(50),
});

/** An order's status, read after it changed (its owner's topic). */
export const OrderStatusData = z.strictObject({
  order_id: id('ord'),
  number: z.string().max(20),
  status: z.enum(ORDER_STATUSES),
});

/** A new order, for the staff feed. */
export const OrderPlacedData = z.strictObject({
  order_id: id('ord'),
  number: z.string().max(20),
  status: z.enum(ORDER_STATUSES),
  country,
  currency,
  total: minorUnits,
});

/** Orders placed in the last `window_minutes`, per shipping country and currency, as of the event's `at`. */
export const SalesTotalsData = z.strictObject({
  window_minutes: z.number().int().positive(),
  countries: z
    .array(z.strictObject({ country, currency, orders: z.number().int().positive(), total: minorUnits }))
    .max(1000),
});

/** A stock level that needs staff attention. */
export const LowStockData = z.strictObject({
  variant_id: id('var'),
  sku: z.string().max(200).nullable(),
  level: z.enum(['low_stock', 'out_of_stock']),
  previous_level: z.enum(STOCK_LEVELS),
  available: z.number().int(),
});

export const PaymentData = z.strictObject({
  payment_id: id('pay'),
  order_id: id('ord').nullable(),
  status: z.enum(PAYMENT_STATUSES),
  amount: minorUnits,
  amount_captured: minorUnits,
  amount_refunded: minorUnits,
  currency,
});

/**
 * The event drafts publishers hand to `publishLive` (src/lib/live-publish.ts), before their channel numbers them.
 * Each type belongs to one topic kind (`EVENT_TOPIC_KINDS`).
 */
export const LiveEventDraft = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('stock'), data: StockData }),
  z.strictObject({ type: z.literal('price'), data: PriceData }),
  z.strictObject({ type: z.literal('order_status'), data: OrderStatusData }),
  z.strictObject({ type: z.literal('order_placed'), data: OrderPlacedData }),
  z.strictObject({ type: z.literal('sales_totals'), data: SalesTotalsData }),
  z.strictObject({ type: z.literal('low_stock'), data: LowStockData }),
  z.strictObject({ type: z.literal('payment'), data: PaymentData }),
]);
export type LiveEventDraft = z.infer<typeof LiveEventDraft>;
export type LiveEventType = LiveEventDraft['type'];

export const EVENT_TOPIC_KINDS: Record<LiveEventType, TopicKind> = {
  stock: 'product',
  price: 'product',
  order_status: 'order',
  order_placed: 'staff',
  sales_totals: 'staff',
  low_stock: 'staff',
  payment: 'staff',
};

/**
 * The key under which a channel keeps an event as current state, sent to every new subscriber (and after a
 * `resync`): the latest stock and prices per variant, an order's status, the staff feed's sales totals. News (new
 * orders, payments, low stock) is not state: none.
 */
export function retainKeyOf(draft: LiveEventDraft): string | null {
  switch (draft.type) {
    case 'stock':
    case 'price':
      return `${draft.type}:${draft.data.variant_id}`;
    case 'order_status':
    case 'sales_totals':
      return draft.type;
    default:
      return null;
  }
}

// ------------------------------------------------------------------------------------- server messages

const eventEnvelope = {
  v: z.literal(LIVE_PROTOCOL_VERSION),
  topic: LiveTopic,
  seq: z.number().int().min(1),
  at: z.iso.datetime(),
};

/** A subscription is live; `seq` is the topic's latest seq now (replayed or retained events may follow). */
const Subscribed = z.strictObject({
  v: z.literal(LIVE_PROTOCOL_VERSION),
  type: z.literal('subscribed'),
  topic: LiveTopic,
  seq: z.number().int().min(0),
});

/**
 * Events after the client's `after_seq` are no longer kept (or the seq is unknown): reload the state over HTTP.
 * The topic's retained state follows, then new events after `seq`.
 */
const Resync = z.strictObject({
  v: z.literal(LIVE_PROTOCOL_VERSION),
  type: z.literal('resync'),
  topic: LiveTopic,
  seq: z.number().int().min(0),
});

export const UNSUBSCRIBE_REASONS = ['requested', 'expired', 'channel_closed', 'withdrawn'] as const;
export type UnsubscribeReason = (typeof UNSUBSCRIBE_REASONS)[number];

/**
 * The subscription ended: asked for, its ticket's time ran out (get a new one), the channel went away, or the
 * product was taken off sale (`withdrawn`: the topic is gone for the storefront, do not subscribe again).
 */
const Unsubscribed = z.strictObject({
  v: z.literal(LIVE_PROTOCOL_VERSION),
  type: z.literal('unsubscribed'),
  topic: LiveTopic,
  reason: z.enum(UNSUBSCRIBE_REASONS),
});

export const LIVE_ERROR_CODES = [
  'invalid_message',
  'message_too_large',
  'rate_limited',
  'too_many_subscriptions',
  'already_subscribed',
  'not_subscribed',
  'topic_not_found',
  'forbidden',
  'invalid_ticket',
  'slow_consumer',
  'unavailable',
  'single_topic',
] as const;
export type LiveErrorCode = (typeof LIVE_ERROR_CODES)[number];

/** A message was refused (the connection stays open unless the close that follows says otherwise). */
const ErrorMessage = z.strictObject({
  v: z.literal(LIVE_PROTOCOL_VERSION),
  type: z.literal('error'),
  code: z.enum(LIVE_ERROR_CODES),
  message: z.string(),
  topic: LiveTopic.optional(),
});

export const LiveServerMessage = z.discriminatedUnion('type', [
  z.strictObject({ ...eventEnvelope, type: z.literal('stock'), data: StockData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('price'), data: PriceData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('order_status'), data: OrderStatusData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('order_placed'), data: OrderPlacedData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('sales_totals'), data: SalesTotalsData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('low_stock'), data: LowStockData }),
  z.strictObject({ ...eventEnvelope, type: z.literal('payment'), data: PaymentData }),
  Subscribed,
  Resync,
  Unsubscribed,
  ErrorMessage,
  z.strictObject({ v: z.literal(LIVE_PROTOCOL_VERSION), type: z.literal('pong') }),
]);
export type LiveServerMessage = z.infer<typeof LiveServerMessage>;
export type LiveEvent = Extract<LiveServerMessage, { type: LiveEventType }>;

/** The JSON text of a control message (everything but events, which their channel writes). */
export function encodeControl(
  message:
    | Omit<z.infer<typeof Subscribed>, 'v'>
    | Omit<z.infer<typeof Resync>, 'v'>
    | Omit<z.infer<typeof Unsubscribed>, 'v'>
    | Omit<z.infer<typeof ErrorMessage>, 'v'>
    | { type: 'pong' },
): string {
  return JSON.stringify({ v: LIVE_PROTOCOL_VERSION, ...message });
}
