/** Every admin router, mounted under /v1/admin behind credential checks. */

import { createRouter } from '../lib/openapi';
import { requireAdmin } from '../middleware/admin-auth';
import { apiKeysRouter } from './api-keys/handlers';
import { auditRouter } from './audit/handlers';
import { staffRouter } from './staff/handlers';

export const adminRouter = createRouter();
adminRouter.use('*', requireAdmin());
adminRouter.route('/', apiKeysRouter).route('/', auditRouter).route('/', staffRouter);
