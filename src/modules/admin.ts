/** Every admin router, mounted under /v1/admin behind credential checks. */

import { createRouter } from '../lib/openapi';
import { requireAdmin } from '../middleware/admin-auth';
import { apiKeysRouter } from './api-keys/handlers';
import { auditRouter } from './audit/handlers';
import { adminCategoriesRouter } from './categories/admin-handlers';
import { adminCollectionsRouter } from './collections/admin-handlers';
import { adminIdentityProvidersRouter } from './identity-providers/admin-handlers';
import { adminProductsRouter } from './products/admin-handlers';
import { adminVariantsRouter } from './products/admin-variant-handlers';
import { adminRegionsRouter } from './regions/admin-handlers';
import { staffRouter } from './staff/handlers';

export const adminRouter = createRouter();
adminRouter.use('*', requireAdmin());
adminRouter
  .route('/', adminRegionsRouter)
  .route('/', adminProductsRouter)
  .route('/', adminVariantsRouter)
  .route('/', adminCategoriesRouter)
  .route('/', adminCollectionsRouter)
  .route('/', adminIdentityProvidersRouter)
  .route('/', apiKeysRouter)
  .route('/', auditRouter)
  .route('/', staffRouter);
