/** The types of demo-catalog.mjs, for the tests that seed the demo catalog (test/store/demo-seed.test.ts). */
export type DemoCatalog = {
  regions: unknown[];
  categories: unknown[];
  collections: unknown[];
  products: unknown[];
};

export function buildDemoCatalog(productCount?: number, seed?: number): DemoCatalog;
