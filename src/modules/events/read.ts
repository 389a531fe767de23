/** Reading dead letters: newest first, keyset on (created_at, id). */
import { and, desc, eq } from 'drizzle-orm';
import { deadLetters } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan } from '../../lib/keyset';

export const DEAD_LETTER_SORT = 'created_at_desc';

export function listDeadLetters(
  db: Database,
  filters: { eventType?: string | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  return db
    .select()
    .from(deadLetters)
    .where(
      and(
        filters.eventType ? eq(deadLetters.eventType, filters.eventType) : undefined,
        olderThan(deadLetters.createdAt, deadLetters.id, page.after),
      ),
    )
    .orderBy(desc(deadLetters.createdAt), desc(deadLetters.id))
    .limit(page.limit + 1);
}

export async function getDeadLetter(db: Database, id: string) {
  const row = await db.select().from(deadLetters).where(eq(deadLetters.id, id)).get();
  if (!row) throw notFound('The dead letter');
  return row;
}
