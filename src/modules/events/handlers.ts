import { adminCallerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import { replayDeadLetter } from './dead-letters';
import { DEAD_LETTER_SORT, getDeadLetter, listDeadLetters } from './read';
import * as routes from './routes';
import { serializeDeadLetter, serializeDeadLetterDetail } from './schemas';

export const adminEventsRouter = createRouter<AdminEnv>()
  .openapi(routes.listDeadLetters, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor ? decodeCursor(q.cursor, DEAD_LETTER_SORT, TIME_ID_KEY) : null;
    const rows = await listDeadLetters(
      createDb(c.env.DB),
      { eventType: q.event_type },
      { limit: q.limit, after },
    );
    const { data, page } = paginate(rows, q.limit, DEAD_LETTER_SORT, (r) => [r.createdAt.getTime(), r.id]);
    return c.json({ data: data.map(serializeDeadLetter), page }, 200);
  })
  .openapi(routes.getDeadLetter, async (c) =>
    c.json(serializeDeadLetterDetail(await getDeadLetter(createDb(c.env.DB), c.req.valid('param').id)), 200),
  )
  .openapi(routes.replayDeadLetter, async (c) => {
    const row = await replayDeadLetter(c.env, adminCallerOf(c), c.req.valid('param').id);
    return c.json(serializeDeadLetterDetail(row), 202);
  });
