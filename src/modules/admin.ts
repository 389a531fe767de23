/** Every admin router, mounted under /v1/admin behind credential checks. */

import { createRouter } from '../lib/openapi';
import { requireSecretKey } from '../middleware/admin-auth';
import { adminRegionsRouter } from './regions/admin-handlers';

export const adminRouter = createRouter();
adminRouter.use('*', requireSecretKey());
adminRouter.route('/', adminRegionsRouter);
