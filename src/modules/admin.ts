/** Every admin router, mounted under /v1/admin behind credential checks. */

import { createRouter } from '../lib/openapi';
import { requireSecretKey } from '../middleware/admin-auth';

export const adminRouter = createRouter();
adminRouter.use('*', requireSecretKey());
