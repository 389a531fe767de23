import { adminCallerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import { secretKeysCreatedBy } from '../api-keys/read';
import * as invites from './invite-service';
import * as read from './read';
import * as routes from './routes';
import { serializeInvite, serializeStaff, serializeStaffDetail } from './schemas';
import * as staff from './service';

const afterKey = (cursor: string | undefined, sort: string) =>
  cursor ? decodeCursor(cursor, sort, TIME_ID_KEY) : null;

// Invitation routes first: `/staff/invites` must not be taken for `/staff/{id}`.
export const staffRouter = createRouter<AdminEnv>()
  .openapi(routes.createInvite, async (c) => {
    const invite = await invites.createInvite(c.env, adminCallerOf(c), c.req.valid('json'));
    return c.json(serializeInvite(invite), 201);
  })
  .openapi(routes.listInvites, async (c) => {
    const q = c.req.valid('query');
    const rows = await read.listInvites(
      c.env.DB,
      { status: q.status },
      { limit: q.limit, after: afterKey(q.cursor, read.INVITE_SORT) },
    );
    const { data, page } = paginate(rows, q.limit, read.INVITE_SORT, (r) => [r.createdAt.getTime(), r.id]);
    return c.json({ data: data.map(serializeInvite), page }, 200);
  })
  .openapi(routes.revokeInvite, async (c) => {
    const invite = await invites.revokeInvite(c.env, adminCallerOf(c), c.req.valid('param').id);
    return c.json(serializeInvite(invite), 200);
  })
  .openapi(routes.listStaff, async (c) => {
    const q = c.req.valid('query');
    const rows = await read.listStaff(
      c.env.DB,
      { role: q.role, status: q.status },
      { limit: q.limit, after: afterKey(q.cursor, read.STAFF_SORT) },
    );
    const { data, page } = paginate(rows, q.limit, read.STAFF_SORT, (r) => [r.createdAt.getTime(), r.id]);
    return c.json({ data: data.map(serializeStaff), page }, 200);
  })
  .openapi(routes.getStaff, async (c) => {
    const row = await read.getStaff(c.env.DB, c.req.valid('param').id);
    return c.json(serializeStaffDetail(row, await secretKeysCreatedBy(c.env.DB, row.id)), 200);
  })
  .openapi(routes.updateStaff, async (c) => {
    const row = await staff.updateStaff(
      c.env,
      adminCallerOf(c),
      c.req.valid('param').id,
      c.req.valid('json'),
    );
    return c.json(serializeStaff(row), 200);
  })
  .openapi(routes.resetStaffMfa, async (c) => {
    return c.json(
      serializeStaff(await staff.resetStaffMfa(c.env, adminCallerOf(c), c.req.valid('param').id)),
      200,
    );
  });
