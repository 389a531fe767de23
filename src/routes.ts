/**
 * Every router of the API and the path it is mounted at: the one place that shows the whole surface. Surface
 * middleware (publishable key, geo, edge cache, admin credentials) is applied by src/app.ts before these run.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { requireAdmin } from './auth/require-admin';
import type { AppEnv } from './lib/app-env';
import { createRouter } from './lib/openapi';
import { readYourWrites } from './middleware/read-your-writes';
import { adminAnalyticsRouter } from './modules/analytics/handlers';
import { apiKeysRouter } from './modules/api-keys/handlers';
import { auditRouter } from './modules/audit/handlers';
import { storeCartsRouter } from './modules/carts/handlers';
import { adminCategoriesRouter } from './modules/categories/admin-handlers';
import { storeCategoriesRouter } from './modules/categories/store-handlers';
import { checkoutRouter } from './modules/checkout/handlers';
import { adminCollectionsRouter } from './modules/collections/admin-handlers';
import { storeCollectionsRouter } from './modules/collections/store-handlers';
import { customerAccountRouter } from './modules/customers/account-handlers';
import { customerAuthRouter } from './modules/customers/auth-handlers';
import { adminDiscountsRouter } from './modules/discounts/handlers';
import { devMailboxRouter } from './modules/email/handlers';
import { adminEventsRouter } from './modules/events/handlers';
import { jwksRouter } from './modules/identity/handlers';
import { adminIdentityProvidersRouter } from './modules/identity-providers/handlers';
import { adminInventoryRouter } from './modules/inventory/admin-handlers';
import { storeInventoryRouter } from './modules/inventory/store-handlers';
import { liveRouter } from './modules/live/handlers';
import { adminOrdersRouter } from './modules/orders/admin-handlers';
import {
  cancelOrderOnProviderVoid,
  markOrderPaidOnSettlement,
  refundOrderOnProviderRefund,
  restoreOrderOnRefundFailure,
} from './modules/orders/settlement';
import { storeOrdersRouter } from './modules/orders/store-handlers';
import { stripeHooksRouter } from './modules/payments/handlers';
import { adminProductsRouter } from './modules/products/admin-handlers';
import { adminVariantsRouter } from './modules/products/admin-variant-handlers';
import { storeProductsRouter } from './modules/products/store-handlers';
import { adminRegionsRouter } from './modules/regions/admin-handlers';
import { storeRegionsRouter } from './modules/regions/store-handlers';
import { adminShippingOptionsRouter } from './modules/shipping-options/handlers';
import { staffRouter } from './modules/staff/handlers';
import { staffAuthRouter } from './modules/staff-auth/handlers';
import { docsRouter } from './modules/system/docs';
import { systemRouter } from './modules/system/handlers';
import { adminWebhooksRouter } from './modules/webhooks/handlers';

const storeRouter = createRouter()
  .route('/', storeRegionsRouter)
  .route('/', storeProductsRouter)
  .route('/', storeInventoryRouter)
  .route('/', storeCategoriesRouter)
  .route('/', storeCollectionsRouter)
  .route('/', customerAccountRouter)
  .route('/', storeOrdersRouter)
  .route('/', storeCartsRouter)
  .route('/', checkoutRouter);

const adminRouter = createRouter();
adminRouter.use('*', requireAdmin(), readYourWrites());
adminRouter
  .route('/', adminRegionsRouter)
  .route('/', adminProductsRouter)
  .route('/', adminVariantsRouter)
  .route('/', adminInventoryRouter)
  .route('/', adminCategoriesRouter)
  .route('/', adminCollectionsRouter)
  .route('/', adminIdentityProvidersRouter)
  .route('/', apiKeysRouter)
  .route('/', adminOrdersRouter)
  .route('/', auditRouter)
  .route('/', staffRouter)
  .route('/', adminShippingOptionsRouter)
  .route('/', adminDiscountsRouter)
  .route('/', adminWebhooksRouter)
  .route('/', adminEventsRouter)
  .route('/', adminAnalyticsRouter);

export function mountRoutes(app: OpenAPIHono<AppEnv>): void {
  app.route('/', systemRouter);
  app.route('/', docsRouter);
  app.route('/', jwksRouter);
  app.route('/', devMailboxRouter);
  app.route('/v1/auth/customers', customerAuthRouter);
  app.route('/v1/store', storeRouter);
  app.route('/v1/admin', adminRouter);
  app.route('/v1/auth/staff', staffAuthRouter);
  app.route('/v1', liveRouter);
  app.route(
    '/v1/hooks',
    stripeHooksRouter({
      onPaymentSettled: markOrderPaidOnSettlement,
      onPaymentRefunded: refundOrderOnProviderRefund,
      onPaymentVoided: cancelOrderOnProviderVoid,
      onPaymentRefundFailed: restoreOrderOnRefundFailure,
    }),
  );
}
