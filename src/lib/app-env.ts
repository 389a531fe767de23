/**
 * The Hono environment of each surface. Every request has the request-level variables; a surface's own
 * middleware adds what is guaranteed there, and its routers are typed with that surface's env, so a storefront
 * handler reads `c.var.store` and an admin handler `c.var.principal` without optional chaining.
 */
import type { IdempotencyClaim } from './idempotency';
import type { Logger } from './logger';
import type { EventPublisher } from './outbox';
import type { AdminPrincipal, CustomerPrincipal, StaffPrincipal } from './permissions';
import type { PublishableKey, StoreContext } from './store-context';

/** Set by the global middleware (src/middleware/request-context.ts) on every request. */
export type RequestVariables = {
  requestId: string;
  /** W3C traceparent of this request: the caller's trace continued, or a new one (src/lib/trace-context.ts). */
  traceparent: string;
  /** Sends committed events to the queue after the response; absent when the request has no execution context. */
  publisher?: EventPublisher;
  logger: Logger;
  /** Named spans for the Server-Timing header, in milliseconds. */
  timings: Map<string, number>;
  /**
   * Only for the request's log line: set by the edge cache on the cached storefront paths. COALESCED: answered
   * with the entry a concurrent request of the same isolate rendered for the same key.
   */
  cacheStatus?: 'HIT' | 'MISS' | 'BYPASS' | 'COALESCED';
  /** Only for the request's log line: set by geo on storefront routes (StoreEnv guarantees it there). */
  store?: StoreContext;
  /** Set on a write route that accepts Idempotency-Key when the request sent one (src/middleware/idempotency.ts). */
  idempotency?: IdempotencyClaim;
};

export type AppEnv = { Bindings: Env; Variables: RequestVariables };

/** `/v1/store/*`: geo has decided the store context; the publishable key is there when one was sent. */
export type StoreEnv = {
  Bindings: Env;
  Variables: RequestVariables & { store: StoreContext; publishableKey?: PublishableKey };
};

/** Storefront routes a guest or a signed-in customer may call (carts): the customer, when one signed in. */
export type ShopperEnv = {
  Bindings: Env;
  Variables: StoreEnv['Variables'] & { principal?: CustomerPrincipal };
};

type WithPrincipal<P> = { Bindings: Env; Variables: RequestVariables & { principal: P } };

/** `/v1/admin/*`: a staff member or a secret key, with its permissions (src/auth/require-admin.ts). */
export type AdminEnv = WithPrincipal<AdminPrincipal>;
/** Routes about the signed-in staff member themself (src/auth/require-staff.ts). */
export type StaffEnv = WithPrincipal<StaffPrincipal>;
/** `/v1/store/customers/me/*` and customer session routes (src/auth/require-customer.ts). */
export type CustomerEnv = WithPrincipal<CustomerPrincipal>;
/** Storefront routes a guest may call too: the customer is there when a token was sent (optionalCustomer). */
