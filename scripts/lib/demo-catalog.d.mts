/** The types of demo-catalog.mjs, for the test that runs a seed (test/store/demo-seed.test.ts). */
export type DemoCatalog = {
  regions: unknown[];
  categories: unknown[];
  collections: unknown[];
  products: unknown[];
};

export declare function buildDemoCatalog(productCount?: number, seed?: number): DemoCatalog;
