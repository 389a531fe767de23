import { desc, eq } from 'drizzle-orm';
import { devMailbox } from '../../db/schema';
import { createDb } from '../../lib/db';

/** The newest 50 messages of the dev mailbox, for one recipient or all. */
export function listDevMail(d1: D1Database, to: string | undefined) {
  return createDb(d1)
    .select()
    .from(devMailbox)
    .where(to ? eq(devMailbox.to, to.toLowerCase()) : undefined)
    .orderBy(desc(devMailbox.createdAt), desc(devMailbox.id))
    .limit(50)
    .all();
}
