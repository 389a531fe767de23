/** Every storefront router, mounted under /v1/store behind the geo and edge-cache middleware. */
import { createRouter } from '../lib/openapi';
import { storeCategoriesRouter } from './categories/store-handlers';
import { storeCollectionsRouter } from './collections/store-handlers';
import { storeProductsRouter } from './products/store-handlers';
import { storeRegionsRouter } from './regions/store-handlers';

export const storeRouter = createRouter()
  .route('/', storeRegionsRouter)
  .route('/', storeProductsRouter)
  .route('/', storeCategoriesRouter)
  .route('/', storeCollectionsRouter);
