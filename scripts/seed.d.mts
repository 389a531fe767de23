/** The types of seed.mjs, for the tests that run what it runs (test/store/demo-seed.test.ts). */
import type { DemoCatalog } from './lib/demo-catalog.mjs';

export function seedStatements(
  catalog: DemoCatalog,
  options?: { force?: boolean; readModelIndexes?: { name: string; sql: string }[] },
): string[];
