/** The types of seed.mjs, for the bench (bench/lib/runtime.mjs) and the test that runs a seed (test/store/demo-seed.test.ts). */
import type { DemoCatalog } from './lib/demo-catalog.mjs';

export declare const READ_MODEL_INDEXES_QUERY: string;
export declare function demoCatalogStatements(
  catalog?: DemoCatalog,
  readModelIndexes?: { name: string; sql: string }[],
): string[];
export declare function seedStatements(
  catalog: DemoCatalog,
  options?: { force?: boolean; readModelIndexes?: { name: string; sql: string }[] },
): string[];
