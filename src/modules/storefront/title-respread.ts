/**
 * Spreading crowded title labels again. A whole-catalog entry takes a label between its neighbours' when written
 * (statements.ts, entriesInsert), so products written one at a time into one gap (a sorted import into the middle
 * of a lane's titles) halve it each time: after about log2 of the gap of them (some 14 in a lane of 100,000
 * entries) neighbours share a label, and a listing by title reads every entry that shares its page edge's label
 * (src/db/fts.ts). The write marks each entry that shares its label (`storefront_title_crowds`); the
 * storefront-rebuild job takes the marks here, one batch each:
 *
 * - the window: the entries around the marked one in (title, product id) order, WINDOW_START on each side, doubled
 *   until its outer neighbours' labels (or the lane's ends) leave ROOM between its entries spread evenly and the
 *   crowd ends inside it (neither outer neighbour shares its label with the next entry out), or it holds the
 *   whole lane, or MAX_WINDOW on a side (then whatever room that leaves; none, where the marked entry is deep
 *   inside a crowd wider than that: its mark is dropped, and marks nearer the crowd's ends spread what their
 *   windows reach);
 * - the batch deletes the window's title rows, gives its entries labels spread evenly between the outer
 *   neighbours' in title order and their rows' rowids the new label with the place they had, writes their rows
 *   again under them, and deletes the marks of its entries. The window is read before; the batch takes its
 *   entries by their title range and the outer labels as it finds them, so an entry written in between is
 *   spread with the rest, and labels stay in title order whatever ran first.
 *
 * Labels change what a listing by title reads, never what it lists or in which order: no cache version moves.
 */
import { asc, eq, type SQL, sql } from 'drizzle-orm';
import {
  LARGEST_KEY,
  PAIR_BITS,
  storefrontSearchTitles,
  titleLaneWordSql,
  titleRowPairSql,
} from '../../db/fts';
import { storefrontEntries, storefrontTitleCrowds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import type { Database } from '../../lib/db';
import { neighbourLabel } from './statements';

/** Entries on each side of a marked one in the first window read. */
const WINDOW_START = 8;

/**
 * The most entries on each side of a marked one a window takes: a batch of 16,385 entries' labels and rows,
 * some 330,000 rows read and 0.8 s (docs/BENCHMARKS.md). A crowd wider than that takes as many writes into one gap between
 * two runs of the job; migration 0027, run again, spreads a whole lane.
 */
const MAX_WINDOW = 8192;

/**
 * The room a window's spread should leave between two entries: as many writes one at a time into one of its gaps
 * as log2 of it (ten) before labels are shared again.
 */
const ROOM = 2 ** 10;

/** An entry in a whole-catalog lane, by its place in title order. */
type Placed = { lane: number; product_id: string; title: string; title_label: number };

/** The window to spread: its first and last entries in title order, and how many it held when read. */
type Window = { lane: number; first: Placed; last: Placed; size: number };

/** Up to `limit` labelled entries of `at`'s lane before or after it, nearest first. */
function beside(db: Database, at: Placed, side: 'before' | 'after', limit: number): Promise<Placed[]> {
  const [past, order] = side === 'before' ? ['<', 'DESC'] : ['>', 'ASC'];
  return db.all<Placed>(sql`SELECT lane, product_id, title, title_label FROM storefront_entries
    WHERE lane = ${at.lane} AND title_label IS NOT NULL
      AND (title, product_id) ${sql.raw(past)} (${at.title}, ${at.product_id})
    ORDER BY title ${sql.raw(order)}, product_id ${sql.raw(order)} LIMIT ${limit}`);
}

/**
 * The window around `marked` to spread, or none where even the widest leaves no room (its outer neighbours share
 * one label).
 */
async function windowAround(db: Database, marked: Placed): Promise<Window | undefined> {
  for (let side = WINDOW_START; ; side *= 2) {
    const [before, after] = await Promise.all([
      beside(db, marked, 'before', side + 2),
      beside(db, marked, 'after', side + 2),
    ]);
    const inside = [...before.slice(0, side).reverse(), marked, ...after.slice(0, side)];
    const low = before[side]?.title_label ?? -1;
    const high = after[side]?.title_label ?? LARGEST_KEY + 1;
    const room = Math.floor((high - low) / (inside.length + 1));
    const whole = before.length <= side && after.length <= side;
    // The crowd goes on past an outer neighbour that shares its label with the next entry out.
    const ends = [before, after].every((rows) => {
      const outer = rows[side];
      return outer === undefined || rows[side + 1]?.title_label !== outer.title_label;
    });
    if ((room >= ROOM && ends) || whole || side >= MAX_WINDOW) {
      const [first, last] = [inside[0] as Placed, inside.at(-1) as Placed];
      return room >= 1 ? { lane: marked.lane, first, last, size: inside.length } : undefined;
    }
  }
}

/** The labelled entries of the window (`e.`-columns of an entry named `e`) by title range, in SQL. */
const within = (e: string, { lane, first, last }: Window): SQL =>
  sql`${sql.raw(e)}.lane = ${lane} AND ${sql.raw(e)}.title_label IS NOT NULL
    AND (${sql.raw(e)}.title, ${sql.raw(e)}.product_id)
      BETWEEN (${first.title}, ${first.product_id}) AND (${last.title}, ${last.product_id})`;

/**
 * The label of the window's outer neighbour on one side as the batch finds it, or past the lane's end (a literal:
 * D1 binds a number as a real, which would make the spread's arithmetic real).
 */
function outerLabel({ lane, first, last }: Window, side: 'before' | 'after'): SQL {
  const [edge, past, none] =
    side === 'before' ? ([first, '<', -1] as const) : ([last, '>', LARGEST_KEY + 1] as const);
  return sql`coalesce((SELECT ${neighbourLabel(past, 'edge')}
    FROM (SELECT CAST(${lane} AS INTEGER) AS lane, ${edge.title} AS title, ${edge.product_id} AS product_id) edge),
    ${sql.raw(String(none))})`;
}

/** The batch that spreads `window` and deletes its marks. */
function respread(db: Database, window: Window) {
  const [low, high] = [outerLabel(window, 'before'), outerLabel(window, 'after')];
  const spread = sql`(SELECT e.product_id, ${low} + (${high} - ${low})
      * row_number() OVER (ORDER BY e.title, e.product_id) / (count(*) OVER () + 1) AS label
    FROM storefront_entries e WHERE ${within('e', window)}) spread`;
  return [
    db
      .delete(storefrontSearchTitles)
      .where(
        sql`rowid IN (SELECT e.title_row FROM storefront_entries e WHERE ${within('e', window)} AND e.title_row IS NOT NULL)`,
      ),
    // A title row's place (its pair's number, its locale's position) stays as it was written: computed again from
    // the region's locales, it could take another lane's rowid while a rebuild of those locales is under way.
    db
      .update(storefrontEntries)
      .set({
        titleLabel: sql`spread.label`,
        titleRow: sql.raw(`(spread.label << ${PAIR_BITS}) | (title_row & ${2 ** PAIR_BITS - 1})`),
      })
      .from(spread)
      .where(
        sql`${storefrontEntries.lane} = ${window.lane} AND ${storefrontEntries.productId} = spread.product_id`,
      ),
    db.insert(storefrontSearchTitles).select(
      sql`SELECT e.title_row, ${sql.raw(titleLaneWordSql('e.lane'))} || ' ' || s.lists, s.title, s.description
          FROM storefront_entries e CROSS JOIN storefront_search s ON s.rowid = ${sql.raw(titleRowPairSql('e.title_row'))}
          WHERE ${within('e', window)} AND e.title_row IS NOT NULL`,
    ),
    db
      .delete(storefrontTitleCrowds)
      .where(
        sql`lane = ${window.lane} AND product_id IN (SELECT e.product_id FROM storefront_entries e WHERE ${within('e', window)})`,
      ),
  ] as const;
}

/**
 * Windows spread, the entries they held when read, marks dropped without a spread (their entry gone, or no room
 * around it), and marks left for the next run.
 */
export type RespreadProgress = {
  respread: number;
  entries_respread: number;
  crowds_dropped: number;
  crowds_left: number;
};

/**
 * Spreads the windows around marked entries, one batch each, until no mark is left or `until.deadline` (epoch ms)
 * has passed. Safe to run in several places at once: a window spread twice is spread the same.
 */
export async function respreadCrowdedTitles(
  db: Database,
  caller: Caller,
  until: { deadline: number },
): Promise<RespreadProgress> {
  const progress = { respread: 0, entries_respread: 0, crowds_dropped: 0 };
  for (;;) {
    const [mark] = await db
      .select()
      .from(storefrontTitleCrowds)
      .orderBy(asc(storefrontTitleCrowds.lane), asc(storefrontTitleCrowds.productId))
      .limit(1);
    if (mark === undefined) return { ...progress, crowds_left: 0 };
    if (Date.now() >= until.deadline) {
      return { ...progress, crowds_left: await db.$count(storefrontTitleCrowds) };
    }
    const [marked] =
      await db.all<Placed>(sql`SELECT lane, product_id, title, title_label FROM storefront_entries
      WHERE lane = ${mark.lane} AND product_id = ${mark.productId} AND title_label IS NOT NULL`);
    const window = marked && (await windowAround(db, marked));
    if (window === undefined) {
      // Its entry is gone (a product or lane deleted), or no window has room: nothing to spread.
      await commit(db, caller, {
        statements: [
          db
            .delete(storefrontTitleCrowds)
            .where(
              sql`${eq(storefrontTitleCrowds.lane, mark.lane)} AND ${eq(storefrontTitleCrowds.productId, mark.productId)}`,
            ),
        ],
      });
      progress.crowds_dropped++;
      continue;
    }
    await commit(db, caller, { statements: respread(db, window) });
    progress.respread++;
    progress.entries_respread += window.size;
  }
}
