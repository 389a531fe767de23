/**
 * The event catalog: every domain event type, the aggregate it belongs to, who may receive it, and the zod schema of
 * its `data` per version. `commit()` validates each event's payload against it before the batch (a write cannot put
 * an event on the wire that its consumers cannot read), and the queue handler parses every envelope with it, so a
 * consumer receives typed data. docs/EVENTS.md and the OpenAPI document (`webhooks`, `components/schemas`) are
 * generated from, or checked against, this file.
 *
 * Audience: `public` events are the integration contract (webhooks may deliver them to receivers); `internal` ones
 * carry what only our own consumers may see (a reset request names an email address an attacker may have typed)
 * and reach only consumers that declare `internal: true`. No event carries a secret: mailed tokens are issued by the
 * email consumer when it sends the mail, never written to an event.
 *
 * A version is bumped only for an incompatible change of `data`; old versions stay here until no stored or queued
 * event has them, so an event written before a deploy is still read after it.
 */
import { z } from '@hono/zod-openapi';
import { emailAddress } from './email-address';
import { type EventEnvelope, EventEnvelopeSchema } from './event-envelope';

/** The ids of our rows (prefixed ULIDs), with room to spare. */
export const MAX_ID_LENGTH = 64;
const Id = z.string().min(1).max(MAX_ID_LENGTH);
/**
 * A stock change's id: an adjustment id, or the key a restock was asked under, which names the order and its line
 * (`order:<order id>:<line id>`: 67 characters), so longer than a row id. The InventoryItem refuses longer ones at
 * its door: a record the catalog refused would wait in its outbox for ever.
 */
export const MAX_CHANGE_ID_LENGTH = 200;
const Amount = z.number().int().nonnegative().openapi({ description: 'Integer minor units of `currency`' });
const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .openapi({ description: 'ISO 4217', example: 'EUR' });
const Country = z
  .string()
  .regex(/^[A-Z]{2}$/)
  .openapi({ description: 'ISO 3166-1 alpha-2', example: 'DE' });
const RegionCode = z.string().min(1).max(64).openapi({ example: 'eu' });

const IdData = z.strictObject({ id: Id });

const OrderLine = z.strictObject({
  variant_id: Id,
  sku: z.string(),
  title: z.string(),
  quantity: z.number().int().positive(),
  unit_price: Amount,
  total: Amount,
});

/** What the order confirmation mail and the sales analytics need, so neither reads the order back. */
const OrderCreatedData = z.strictObject({
  id: Id,
  customer_id: Id.nullable(),
  email: emailAddress(),
  locale: z.string().nullable(),
  region: RegionCode,
  country: Country.openapi({ description: 'The shipping country (ISO 3166-1 alpha-2)' }),
  currency: Currency,
  subtotal: Amount,
  discount_total: Amount,
  shipping_total: Amount,
  tax_total: Amount,
  total: Amount,
  items: z.array(OrderLine).min(1),
});

/** A payment or refund of an order, with where the order was placed, for revenue per day, region and country. */
const OrderMoneyData = z.strictObject({
  id: Id,
  region: RegionCode,
  country: Country,
  currency: Currency,
  amount: Amount,
});

/** An order's payment was taken: its money, plus which payment and which report settled it. */
const OrderPaidData = OrderMoneyData.extend({
  payment_id: Id.nullable().openapi({ description: 'Null when the order had nothing to pay (a total of 0)' }),
  via: z.enum(['checkout', 'webhook', 'confirmation']).openapi({
    description: 'What settled it: checkout itself, the provider’s webhook, or the storefront’s confirmation',
  }),
});

/**
 * An order was canceled: its transition, and the money the cancel released (voided or refunded), so revenue can
 * take back what `order.paid` counted.
 */
const OrderCanceledData = OrderMoneyData.extend({
  amount: Amount.openapi({
    description:
      'The payment released: the order’s total if it was paid, 0 if it was still waiting for payment',
  }),
  number: z.string(),
  from: z.enum(['pending_payment', 'paid']),
  to: z.literal('canceled'),
  reason: z.string().optional(),
});

/** Part or all of an order was refunded (by staff, or in the provider's dashboard): the money, and the order's transition. */
const OrderRefundedData = OrderMoneyData.extend({
  number: z.string(),
  from: z.string(),
  to: z.enum(['partially_refunded', 'refunded']),
  reason: z.string().optional(),
  payment_id: Id,
  refunded_total: Amount,
});

/** A refund the provider failed or canceled after it was counted: the money it was to return, and the order's transition. */
const OrderRefundFailedData = OrderMoneyData.extend({
  amount: Amount.openapi({ description: 'What the failed refund was to return, no longer refunded' }),
  number: z.string(),
  from: z.enum(['partially_refunded', 'refunded']),
  to: z.string(),
  reason: z.string().optional(),
  payment_id: Id,
  refunded_total: Amount,
});

const StockLevel = z.enum(['in_stock', 'low_stock', 'out_of_stock']);

/** A SKU's level moved (written by its InventoryItem object's outbox; `seq` orders one SKU's levels). */
const StockData = z.strictObject({
  variant_id: Id,
  sku: z.string().nullable(),
  level: StockLevel,
  previous_level: StockLevel,
  available: z.number().int(),
  seq: z.number().int().nonnegative(),
});

const StockChangeBase = {
  variant_id: Id,
  sku: z.string().nullable(),
  change_id: z.string().min(1).max(MAX_CHANGE_ID_LENGTH),
  reason: z.string().nullable(),
};

/** An order moved through its state machine: where from, where to, and what the action carried. */
const OrderTransitionData = z.looseObject({
  id: Id,
  number: z.string(),
  from: z.string(),
  to: z.string(),
  reason: z.string().optional(),
});

/** A payment as the admin API shows it (`Payment`), plus the refund for refund events. */
const PaymentData = z.looseObject({
  id: Id,
  status: z.string(),
  amount: Amount,
  currency: Currency,
});

const paymentEvent = (description: string) =>
  spec({ aggregate: 'payment', audience: 'public', description, versions: { 1: PaymentData } });

type EventSpec = {
  aggregate: string;
  audience: 'public' | 'internal';
  description: string;
  /** The schema of `data` per version; the highest is what writers produce. */
  versions: Record<number, z.ZodObject>;
};

const spec = <const S extends EventSpec>(s: S) => s;
/** A catalog write: the event names the record; receivers read its current state through the admin API. */
const catalogChange = (what: string, verb: 'created' | 'updated' | 'deleted') =>
  spec({
    aggregate: what,
    audience: 'public',
    description:
      verb === 'deleted'
        ? `A ${what} was deleted by staff or a secret key.`
        : `A ${what} was ${verb} by staff or a secret key; read its current state through the admin API.`,
    versions: { 1: IdData },
  });

export const EVENT_CATALOG = {
  'product.created': catalogChange('product', 'created'),
  'product.updated': spec({
    aggregate: 'product',
    audience: 'public',
    description:
      'A product changed: its fields, options, images, memberships, or one of its variants or prices (`variant_id`).',
    versions: { 1: z.strictObject({ id: Id, variant_id: Id.optional() }) },
  }),
  'product.deleted': catalogChange('product', 'deleted'),
  'region.created': catalogChange('region', 'created'),
  'region.updated': catalogChange('region', 'updated'),
  'region.deleted': catalogChange('region', 'deleted'),
  'category.created': catalogChange('category', 'created'),
  'category.updated': catalogChange('category', 'updated'),
  'category.deleted': catalogChange('category', 'deleted'),
  'collection.created': catalogChange('collection', 'created'),
  'collection.updated': catalogChange('collection', 'updated'),
  'collection.deleted': catalogChange('collection', 'deleted'),
  'inventory.low_stock': spec({
    aggregate: 'inventory',
    audience: 'public',
    description: 'A SKU’s available stock fell to or below its low-stock threshold.',
    versions: { 1: StockData },
  }),
  'inventory.out_of_stock': spec({
    aggregate: 'inventory',
    audience: 'public',
    description: 'A SKU has no stock left to sell.',
    versions: { 1: StockData },
  }),
  'inventory.adjusted': spec({
    aggregate: 'inventory',
    audience: 'public',
    description:
      'A SKU’s on-hand stock changed: staff set or adjusted it, or a canceled order put units back (`kind`: `set_on_hand`, `adjust` or `restock`; `delta`, before and after, `reason`).',
    versions: {
      1: z.strictObject({
        ...StockChangeBase,
        kind: z.string(),
        delta: z.number().int(),
        on_hand_before: z.number().int(),
        on_hand: z.number().int(),
      }),
    },
  }),
  'inventory.configured': spec({
    aggregate: 'inventory',
    audience: 'public',
    description: 'Staff changed a SKU’s low-stock threshold or backorder policy.',
    versions: {
      1: z.strictObject({
        ...StockChangeBase,
        low_stock_threshold: z.number().int().nonnegative(),
        backorder: z.enum(['allow', 'deny']),
      }),
    },
  }),
  'cart.created': spec({
    aggregate: 'cart',
    audience: 'public',
    description: 'A shopper opened a cart.',
    versions: { 1: z.strictObject({ id: Id, region: RegionCode, customer_id: Id.nullable() }) },
  }),
  'cart.updated': spec({
    aggregate: 'cart',
    audience: 'public',
    description: 'A cart changed: `fields` names the body fields sent, or `line_items`.',
    versions: { 1: z.strictObject({ id: Id, fields: z.array(z.string()) }) },
  }),
  'cart.merged': spec({
    aggregate: 'cart',
    audience: 'public',
    description: 'A guest cart was merged into a signed-in customer’s cart.',
    versions: { 1: z.strictObject({ id: Id, guest_cart_id: Id, customer_id: Id }) },
  }),
  'cart.checkout_started': spec({
    aggregate: 'cart',
    audience: 'public',
    description: 'A shopper started checkout: the cart’s lines are being reserved and paid.',
    versions: {
      1: z.strictObject({
        id: Id,
        customer_id: Id.nullable(),
        region: RegionCode,
        currency: Currency,
        total: Amount,
      }),
    },
  }),
  'order.created': spec({
    aggregate: 'order',
    audience: 'public',
    description:
      'An order was placed. Carries what a confirmation needs: lines, totals, the shopper’s email.',
    versions: { 1: OrderCreatedData },
  }),
  'order.paid': spec({
    aggregate: 'order',
    audience: 'public',
    description: 'The order’s payment was authorized or captured (`amount`), so the order is paid.',
    versions: { 1: OrderPaidData },
  }),
  'order.partially_fulfilled': spec({
    aggregate: 'order',
    audience: 'public',
    description: 'Some lines of the order were shipped (the fulfilment rides along).',
    versions: { 1: OrderTransitionData },
  }),
  'order.fulfilled': spec({
    aggregate: 'order',
    audience: 'public',
    description: 'Every line of the order was shipped.',
    versions: { 1: OrderTransitionData },
  }),
  'order.delivered': spec({
    aggregate: 'order',
    audience: 'public',
    description: 'Staff marked the order delivered.',
    versions: { 1: OrderTransitionData },
  }),
  'order.canceled': spec({
    aggregate: 'order',
    audience: 'public',
    description: 'The order was canceled: its payment voided or refunded (`amount`), its stock restocked.',
    versions: { 1: OrderCanceledData },
  }),
  'payment.created': paymentEvent(
    'A payment was created and waits for the shopper (e.g. Stripe’s confirmation).',
  ),
  'payment.authorized': paymentEvent('A payment was authorized.'),
  'payment.captured': paymentEvent('A payment was captured.'),
  'payment.partially_refunded': paymentEvent('Part of a payment was refunded (`refund`).'),
  'payment.refunded': paymentEvent('A payment was refunded in full (`refund`).'),
  'payment.refund_failed': paymentEvent(
    'A refund recorded as returning money (`refund`: its status now `failed` or `canceled`, with the ' +
      'provider’s `failure_reason`) returned nothing: Stripe failed or canceled it. Its amount is back off the ' +
      'payment’s `amount_refunded`, and the status says what is left refunded (`captured` when nothing).',
  ),
  'payment.voided': paymentEvent('An authorization was voided.'),
  'payment.failed': paymentEvent('A payment failed.'),
  'webhook_endpoint.disabled': spec({
    aggregate: 'webhook_endpoint',
    audience: 'public',
    description: 'A webhook endpoint was disabled: it answered 410, or every delivery failed for 5 days.',
    versions: {
      1: z.strictObject({
        id: Id,
        url: z.string(),
        reason: z.string(),
        failing_since: z.string().nullable(),
      }),
    },
  }),
  'order.refunded': spec({
    aggregate: 'order',
    audience: 'public',
    description:
      'Money went back to the shopper, refunded by staff or in the provider’s dashboard, or an edgecart refund ' +
      'no request recorded, taken by the `refund-claims` job (`amount`; ' +
      '`refunded_total` so far); a partial refund raises one event each, and `to` says whether the order is ' +
      'now `partially_refunded` or `refunded`.',
    versions: { 1: OrderRefundedData },
  }),
  'order.refund_failed': spec({
    aggregate: 'order',
    audience: 'public',
    description:
      'A refund counted in `order.refunded` returned nothing after all: the provider failed or canceled it ' +
      '(`amount`; `refunded_total` after it). The order is `partially_refunded` while refunded money remains, ' +
      'else back in the status it had before its first refund (`to`); revenue counts the amount again.',
    versions: { 1: OrderRefundFailedData },
  }),
  'customer.created': spec({
    aggregate: 'customer',
    audience: 'public',
    description: 'A shopper signed up, with a password or a first OpenID sign-in.',
    versions: { 1: IdData },
  }),
  'customer.deleted': spec({
    aggregate: 'customer',
    audience: 'public',
    description: 'A customer’s personal data was erased; the id stays for the orders that name it.',
    versions: { 1: IdData },
  }),
  'customer.email_verification_requested': spec({
    aggregate: 'customer',
    audience: 'internal',
    description:
      'Mail the customer a link that confirms their address (the email consumer issues its token).',
    versions: { 1: IdData },
  }),
  'password_reset.requested': spec({
    aggregate: 'password_reset',
    audience: 'internal',
    description:
      'Someone asked for a password reset for `email`. Raised whether or not an account has it, so the request ' +
      'does the same work either way; the email consumer mails a link only when one does.',
    versions: { 1: z.strictObject({ email: emailAddress() }) },
  }),
  'staff_invite.created': spec({
    aggregate: 'staff_invite',
    audience: 'internal',
    description: 'Mail the invitation (the email consumer issues the token it carries).',
    versions: { 1: IdData },
  }),
} as const satisfies Record<string, EventSpec>;

type Catalog = typeof EVENT_CATALOG;
export type EventType = keyof Catalog;
type LatestVersion<T extends EventType> = keyof Catalog[T]['versions'] & number;

/** The `data` of the version writers produce. */
export type EventData<T extends EventType> = z.infer<Catalog[T]['versions'][LatestVersion<T>]>;

/** An event as `commit()` takes it: the type decides the aggregate type and the shape of the payload. */
export type DomainEvent = {
  [T in EventType]: {
    type: T;
    aggregateType: Catalog[T]['aggregate'];
    aggregateId: string;
    payload: EventData<T>;
  };
}[EventType];

/**
 * An event whose type is computed at run time (`order.${to}`, `payment.${status}`): the compiler cannot match it to
 * its schema, so `validateDomainEvent` checks it when it is committed, as it checks every event.
 */
export type ComputedDomainEvent = {
  type: string;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
};

/**
 * The one door for a computed event into `commit()`, which otherwise takes only events the compiler has matched to
 * their schema (so a literal event with a wrong payload fails `tsc`, not a request).
 */
export function computedEvent(event: ComputedDomainEvent): DomainEvent {
  return event as DomainEvent;
}

/** An envelope whose type is in the catalog and whose data its schema accepted, narrowed by `type`. */
export type CatalogEvent = {
  [T in EventType]: Omit<EventEnvelope, 'type' | 'data'> & { type: T; data: EventData<T> };
}[EventType];

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

/** The types webhooks may deliver (and receivers may subscribe to). */
export const PUBLIC_EVENT_TYPES = EVENT_TYPES.filter((type) => EVENT_CATALOG[type].audience === 'public');

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOG, type);
}

export function currentVersion(type: EventType): number {
  return Math.max(...Object.keys(EVENT_CATALOG[type].versions).map(Number));
}

export function dataSchema(type: EventType, version: number): z.ZodObject | undefined {
  const versions: Record<number, z.ZodObject> = EVENT_CATALOG[type].versions;
  return versions[version];
}

/**
 * Checks an event before it is written: its aggregate type and its payload against the current version. A failure is
 * a programming error in the writing service (the request answers 500 and nothing is written).
 */
export function validateDomainEvent(event: DomainEvent): {
  version: number;
  data: Record<string, unknown>;
} {
  if (!isEventType(event.type)) throw new Error(`event type ${event.type} is not in the event catalog`);
  const entry = EVENT_CATALOG[event.type];
  if (entry.aggregate !== event.aggregateType) {
    throw new Error(
      `event ${event.type} belongs to aggregate ${entry.aggregate}, not ${event.aggregateType}`,
    );
  }
  const version = currentVersion(event.type);
  const parsed = dataSchema(event.type, version)?.safeParse(event.payload);
  if (!parsed?.success) {
    const issue = parsed?.error.issues[0];
    throw new Error(
      `event ${event.type} v${version} payload is invalid at /${issue?.path.join('/')}: ${issue?.message}`,
    );
  }
  return { version, data: parsed.data };
}

/** The OpenAPI component name of a type's envelope: `order.created` -> `OrderCreatedEvent` (`...EventV1` if old). */
export function eventSchemaName(type: EventType, version: number): string {
  const name = type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return version === currentVersion(type) ? `${name}Event` : `${name}EventV${version}`;
}

/**
 * Extending the envelope keeps its fields where they are, so a parsed event serializes in the envelope's order (id,
 * type, version, occurred_at, aggregate, traceparent, data): the bytes a webhook receiver gets from a fan-out are
 * those of a replay, which serializes the outbox row.
 */
function envelopeSchema(type: EventType, version: number, data: z.ZodObject) {
  return EventEnvelopeSchema.extend({ type: z.literal(type), version: z.literal(version), data })
    .describe(EVENT_CATALOG[type].description)
    .openapi(eventSchemaName(type, version));
}

/** Every envelope schema, per type and version, built once (each names an OpenAPI component). */
const ENVELOPE_SCHEMAS = Object.fromEntries(
  EVENT_TYPES.map((type) => [
    type,
    Object.entries(EVENT_CATALOG[type].versions).map(([version, data]) =>
      envelopeSchema(type, Number(version), data),
    ),
  ]),
) as Record<EventType, ReturnType<typeof envelopeSchema>[]>;

/** The envelope schema of a type's current version: what webhook receivers of that type get. */
export function currentEnvelopeSchema(type: EventType) {
  const schema = ENVELOPE_SCHEMAS[type].find((s) => s.shape.version.value === currentVersion(type));
  if (!schema) throw new Error(`event type ${type} has no current version`);
  return schema;
}

/** One type's envelopes: one schema, or a union on `version` once a type has several. */
function typeSchema(type: EventType) {
  const [only, ...more] = ENVELOPE_SCHEMAS[type];
  if (!only) throw new Error(`event type ${type} has no version`);
  return more.length === 0 ? only : z.discriminatedUnion('version', [only, ...more]);
}

type EnvelopeOption = ReturnType<typeof envelopeSchema>;

/** Every catalog event as one discriminated union on `type` (then `version`): what consumers parse. */
export const CatalogEventSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map(typeSchema) as unknown as [EnvelopeOption, ...EnvelopeOption[]],
);

/** The envelope as a catalog event, or why not (such an event can never be consumed: it goes to the dead letters). */
export function parseCatalogEvent(envelope: unknown): { event: CatalogEvent } | { refusal: string } {
  const parsed = CatalogEventSchema.safeParse(envelope);
  if (parsed.success) return { event: parsed.data as CatalogEvent };
  const issue = parsed.error.issues[0];
  return { refusal: `/${issue?.path.join('/')}: ${issue?.message}` };
}
