/**
 * Which cache versions a catalog write moves (scopes in src/lib/version-scopes.ts). A write passes its bump to
 * `commit()` as `versions`, which runs it in the write's own batch, before the change's statements, so that it
 * reads the catalog as it was (a product's old handle, a category's members before a delete cascades them away):
 *
 * - a product, its variants or prices: that product's page (under its old and its new handle) and the listings;
 *   other products' pages stay cached;
 * - a category or collection: the listings, and the pages of the products whose page it changes, because a
 *   product page names the categories it is directly in and its collections: every linked product's when its
 *   names or handle change or it is deleted, a collection's products that leave or join its product list, and
 *   none for a category's move or new position (a page shows neither parents nor order); the listings again
 *   when the read model of a moved category or a collection's new product list, rebuilt in steps, is done;
 * - a region: everything (`catalog`), because a region decides currency, tax and locales of every response; and
 *   everything again when the region's read model, rebuilt in steps after a change of currency or locales, is
 *   done.
 *
 * These are the only ways to move a version. Stock levels and reservations are not catalog data and have no bump
 * here, on purpose: a flash sale must not empty the cache. Availability is to be served outside the cached
 * responses (uncached or live), never by moving these versions.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { cacheVersions } from '../db/schema';
import type { Database } from './db';
import { CATALOG_SCOPE, LISTING_SCOPE, NEXT_VERSION_SQL, productScope } from './version-scopes';

const NEXT_VERSION = sql.raw(NEXT_VERSION_SQL);

const literal = (scope: string) => sql`SELECT ${scope} AS scope`;
const LISTING = literal(LISTING_SCOPE);
const PRODUCT_PREFIX = productScope('');

/** The page scope of each product in `ids` (a JSON array, so any number of ids binds one parameter). */
const productsById = (ids: string[]) =>
  sql`SELECT ${PRODUCT_PREFIX} || handle AS scope FROM products WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** The page scope of each product linked through `link` (product_categories or product_collections). */
const linkedProducts = (link: 'product_categories' | 'product_collections', column: string, id: string) =>
  sql`SELECT ${PRODUCT_PREFIX} || p.handle AS scope FROM ${sql.raw(link)} l JOIN products p ON p.id = l.product_id
    WHERE l.${sql.raw(column)} = ${id}`;

/** The page scope of each product a collection lists that is not in `ids`, the list replacing its own. */
const leavingCollection = (collectionId: string, ids: string[]) =>
  sql`SELECT ${PRODUCT_PREFIX} || p.handle AS scope FROM product_collections l JOIN products p ON p.id = l.product_id
    WHERE l.collection_id = ${collectionId}
      AND l.product_id NOT IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** The page scope of each product in `ids`, the list replacing a collection's own, that the collection lacks. */
const joiningCollection = (collectionId: string, ids: string[]) =>
  sql`SELECT ${PRODUCT_PREFIX} || handle AS scope FROM products
    WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
      AND id NOT IN (SELECT product_id FROM product_collections WHERE collection_id = ${collectionId})`;

export class CatalogVersionBump {
  private constructor(readonly statement: BatchItem<'sqlite'>) {}

  /** One upsert moving every scope the queries name to the next version. */
  private static of(db: Database, scopes: SQL[]): CatalogVersionBump {
    return new CatalogVersionBump(
      db
        .insert(cacheVersions)
        // `WHERE true` lets SQLite parse the ON CONFLICT clause after a SELECT with a FROM.
        .select(sql`SELECT scope, ${NEXT_VERSION} FROM (${sql.join(scopes, sql` UNION `)}) WHERE true`)
        .onConflictDoUpdate({ target: cacheVersions.scope, set: { version: sql`excluded.version` } }),
    );
  }

  /** A region was created, changed or deleted. */
  static region(db: Database): CatalogVersionBump {
    return CatalogVersionBump.of(db, [literal(CATALOG_SCOPE)]);
  }

  /**
   * A region's read model is rebuilt in steps after a change (src/modules/storefront/rebuild.ts): everything
   * again when `lastStep` holds, the condition that the batch's step reaches the last product.
   */
  static regionRebuilt(db: Database, lastStep: SQL): CatalogVersionBump {
    return CatalogVersionBump.of(db, [sql`${literal(CATALOG_SCOPE)} WHERE ${lastStep}`]);
  }

  /**
   * A moved category's products are in their new ancestors' lanes, or a collection's new product list in its
   * lanes, after steps like a region's: the listings again when `lastStep` holds (the product pages moved with
   * the change: a page names a product's collections and the categories it is directly in, which a move does not
   * change).
   */
  static listingsRebuilt(db: Database, lastStep: SQL): CatalogVersionBump {
    return CatalogVersionBump.of(db, [sql`${LISTING} WHERE ${lastStep}`]);
  }

  /**
   * A product (or one of its variants or prices) was created, changed or deleted. `newHandle` is the handle it
   * gets, when the write sets one (a create, a rename): its page moves as well as the page under the old handle.
   */
  static product(db: Database, productId: string, newHandle?: string): CatalogVersionBump {
    return CatalogVersionBump.of(db, [
      LISTING,
      productsById([productId]),
      ...(newHandle === undefined ? [] : [literal(productScope(newHandle))]),
    ]);
  }

  /**
   * A category was created, changed or deleted. `pagesChange`: its products' pages show the change (its names or
   * handle, or its delete); a move or a new position changes only the listings.
   */
  static category(db: Database, categoryId: string, pagesChange: boolean): CatalogVersionBump {
    return CatalogVersionBump.of(db, [
      LISTING,
      ...(pagesChange ? [linkedProducts('product_categories', 'category_id', categoryId)] : []),
    ]);
  }

  /**
   * A collection was created, changed or deleted. `namesChange`: its names or handle change, or it is deleted, so
   * every product it lists shows the change; `productIds`: the product list the write sets, if it does, whose
   * products that leave or join it show the change (those it keeps do not, unless its names change too).
   */
  static collection(
    db: Database,
    collectionId: string,
    change: { namesChange: boolean; productIds?: string[] },
  ): CatalogVersionBump {
    const { namesChange, productIds } = change;
    const pages = namesChange
      ? [
          linkedProducts('product_collections', 'collection_id', collectionId),
          ...(productIds === undefined ? [] : [productsById(productIds)]),
        ]
      : productIds === undefined
        ? []
        : [leavingCollection(collectionId, productIds), joiningCollection(collectionId, productIds)];
    return CatalogVersionBump.of(db, [LISTING, ...pages]);
  }
}
