import type { Logger } from './lib/logger';
import type { Principal } from './lib/permissions';
import type { PublishableKey } from './modules/api-keys/publishable-key';
import type { StoreContext } from './modules/regions/context';

/** Per-request values set by middleware and read by handlers. */
export type AppVariables = {
  requestId: string;
  logger: Logger;
  /** Named spans for the Server-Timing header, in milliseconds. */
  timings: Map<string, number>;
  /** Set by the geo middleware on storefront routes. */
  store: StoreContext;
  /** Set by the edge-cache middleware: HIT, MISS or BYPASS. */
  cacheStatus: 'HIT' | 'MISS' | 'BYPASS';
  /** Who authenticated the request (admin routes). */
  principal: Principal;
  /** The storefront's publishable key, when the request sent one (storefront routes). */
  publishableKey: PublishableKey;
};

export type AppEnv = { Bindings: Env; Variables: AppVariables };
