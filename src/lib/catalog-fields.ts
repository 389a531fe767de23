/**
 * Field schemas, checks and statements shared by the admin catalog modules (products, categories, collections,
 * regions), so a handle or a locale is validated, and a translation written, the same way everywhere.
 */
import { z } from '@hono/zod-openapi';
import { and, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteColumn, SQLiteTable, SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import { chunkRows, insertRowIf, valueTaken } from './d1-writes';
import type { Database } from './db';
import { AppError, type FieldError } from './errors';
import { minorUnits } from './money';

export const Handle = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and single hyphens')
  .openapi({ example: 'blue-mug' });

const LOCALE_MESSAGE = 'Use a BCP 47 language tag such as "en" or "de-AT"';

/** Whether the runtime's Intl takes `tag`: prices are formatted in a region's locales, and one it refuses throws. */
function intlTakes(tag: string): boolean {
  try {
    Intl.getCanonicalLocales(tag);
    return true;
  } catch {
    return false;
  }
}

/**
 * A BCP 47-style tag: a 2-3 letter language, then optional subtags (`de`, `en-GB`, `zh-Hant-TW`), well-formed as
 * Intl reads it: the pattern alone took `de-12` or `en-GB-GB`, and every price shown in such a locale failed.
 */
export const Locale = z
  .string()
  .max(35)
  // Aborts: a tag it refuses gets one message, not a second from the check below.
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { message: LOCALE_MESSAGE, abort: true })
  .refine(intlTakes, LOCALE_MESSAGE)
  .openapi({ example: 'en' });

export const Id = z.string().min(1).max(64).openapi({ example: 'cat_01JD3Q6C5W9ZK2M4T8R7XPN0AB' });

/** An ISO 4217 code the runtime knows, so it can be priced and formatted. */
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, { message: 'Use an uppercase ISO 4217 code such as "EUR"', abort: true })
  .refine((code) => minorUnits(code) !== undefined, 'Not an ISO 4217 currency')
  .openapi({ example: 'EUR' });

export const IdParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export const Timestamp = z.string().openapi({ example: '2026-11-20T10:15:00.000Z', format: 'date-time' });

/** Translations keyed by locale, at least one. */
export function translationMap<T extends z.ZodType>(value: T) {
  return z
    .record(Locale, value)
    .refine((map) => Object.keys(map).length > 0, 'Give at least one translation')
    .refine((map) => Object.keys(map).length <= 50, 'At most 50 translations');
}

/**
 * Rejects an array whose items repeat a key, pointing at each repeat.
 *
 * @example z.array(Price).superRefine(uniqueBy((p) => p.currency, 'currency'))
 */
export function uniqueBy<T>(keyOf: (item: T) => string, field?: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `Duplicate ${field ?? 'value'} "${key}"`,
          path: field ? [index, field] : [index],
        });
      }
      seen.add(key);
    });
  };
}

/** A 422 for ids in the body that name nothing, one pointer each. */
export function unknownReferences(errors: FieldError[]): AppError {
  return new AppError(422, 'reference_not_found', 'The request refers to records that do not exist.', {
    errors,
  });
}

/** Pointers for the items of `ids` (found at `/body/<field>/<index>`) that are in `missing`. */
export function pointersTo(field: string, ids: string[], missing: Set<string>, what: string): FieldError[] {
  return ids.flatMap((id, index) =>
    missing.has(id) ? [{ pointer: `/body/${field}/${index}`, message: `There is no ${what} ${id}` }] : [],
  );
}

export const iso = (date: Date) => date.toISOString();

/** A patch of translations: each locale upserted as a whole, or removed with `null`. */
export function translationPatch<T extends z.ZodType>(value: T) {
  return z
    .record(Locale, value.nullable())
    .refine((map) => Object.keys(map).length > 0, 'Give at least one translation')
    .refine((map) => Object.keys(map).length <= 50, 'At most 50 translations')
    .openapi({ description: 'Upserts each given locale as a whole; `null` removes that locale' });
}

/** Splits a translation patch into the locales to remove and those to upsert. */
export function splitTranslationPatch<T>(patch: Record<string, T | null>) {
  const entries = Object.entries(patch);
  return {
    removed: entries.filter(([, value]) => value === null).map(([locale]) => locale),
    upserted: Object.fromEntries(
      entries.flatMap(([locale, value]): [string, T][] => (value === null ? [] : [[locale, value]])),
    ),
  };
}

/** 422 when applying `patch` to the `existing` locales would leave a record without any translation. */
export function assertTranslationsRemain(existing: string[], patch: Record<string, unknown>): void {
  const remaining = new Set(existing);
  for (const [locale, value] of Object.entries(patch)) {
    if (value === null) remaining.delete(locale);
    else remaining.add(locale);
  }
  if (remaining.size === 0) {
    throw new AppError(422, 'validation_failed', 'At least one translation must remain.', {
      errors: [{ pointer: '/body/translations', message: 'Do not remove every translation' }],
    });
  }
}

/**
 * Refines a PATCH body to change at least one field. It runs only when the body has no other issue, so a body
 * holding nothing but an unknown field gets one clear error, not two.
 */
export const someFieldToChange = [
  (body: object) => Object.keys(body).length > 0,
  {
    error: 'Send at least one field to change',
    when: (payload: z.core.ParsePayload) => payload.issues.length === 0,
  },
] as const;

/**
 * 409 `handle_taken` when a record other than `exceptId` in `handle`'s table already has `value`.
 *
 * @example await assertHandleFree(db, { handle: categories.handle, id: categories.id }, 'category', input.handle, id)
 */
export async function assertHandleFree(
  db: Database,
  columns: { handle: SQLiteColumn; id: SQLiteColumn },
  what: string,
  value: string | undefined,
  exceptId?: string,
): Promise<void> {
  if (value === undefined || !(await valueTaken(db, columns.handle, value, columns.id, exceptId))) return;
  throw new AppError(409, 'handle_taken', `Another ${what} already has the handle "${value}".`, {
    errors: [{ pointer: '/body/handle', message: 'Choose another handle' }],
  });
}

/** A translation table: its owner and locale columns form the primary key; every other column is content. */
export type TranslationTable<T extends SQLiteTable> = { table: T; owner: SQLiteColumn; locale: SQLiteColumn };

/** Inserts translation rows, each replacing the row of its (owner, locale) if there is one. */
export function upsertTranslations<T extends SQLiteTable>(
  db: Database,
  { table, owner, locale }: TranslationTable<T>,
  rows: T['$inferInsert'][],
): BatchItem<'sqlite'>[] {
  const key = new Set([owner.name, locale.name]);
  const set = Object.fromEntries(
    Object.entries(getTableColumns(table))
      .filter(([, column]) => !key.has(column.name))
      .map(([field, column]) => [field, sql`excluded.${sql.identifier(column.name)}`]),
  ) as SQLiteUpdateSetSource<T>;
  return chunkRows(table, rows).map((chunk) =>
    db
      .insert(table)
      .values(chunk)
      .onConflictDoUpdate({ target: [owner, locale], set }),
  );
}

/**
 * Fails the batch when `ownerId` has no translation left: only then it inserts a row of defaults (no owner, no
 * locale), which the NOT NULL columns refuse, so the change's recheck answers with assertTranslationsRemain's 422.
 * The up-front check cannot see a concurrent patch: two patches removing different locales each leave one, and
 * both committed would leave none (an active record with no text in any locale, gone from the storefront).
 */
function translationsRemain<T extends SQLiteTable>(
  db: Database,
  { table, owner }: TranslationTable<T>,
  ownerId: string,
): BatchItem<'sqlite'> {
  return insertRowIf(db, table, {}, sql`NOT EXISTS (SELECT 1 FROM ${table} WHERE ${eq(owner, ownerId)})`);
}

/**
 * The statements applying a translation patch to `ownerId`: locales set to null are deleted, the others
 * upserted as whole rows made by `toRow`. A patch that removes locales is guarded in the batch: it commits only
 * if a translation remains.
 */
export function translationPatchStatements<T extends SQLiteTable, V>(
  db: Database,
  translations: TranslationTable<T>,
  ownerId: string,
  patch: Record<string, V | null>,
  toRow: (locale: string, value: V) => T['$inferInsert'],
): BatchItem<'sqlite'>[] {
  const { removed, upserted } = splitTranslationPatch(patch);
  const statements: BatchItem<'sqlite'>[] = [];
  if (removed.length > 0) {
    statements.push(
      db
        .delete(translations.table)
        .where(and(eq(translations.owner, ownerId), inArray(translations.locale, removed))),
    );
  }
  statements.push(
    ...upsertTranslations(
      db,
      translations,
      Object.entries(upserted).map(([locale, value]) => toRow(locale, value)),
    ),
  );
  if (removed.length > 0) statements.push(translationsRemain(db, translations, ownerId));
  return statements;
}
