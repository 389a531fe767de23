import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      /** Injected by vitest.config.ts: the SQL of migrations/, applied by test/setup. */
      TEST_MIGRATIONS: D1Migration[];
      /** Injected by vitest.config.ts: an empty database, for migrations applied from an older schema. */
      MIGRATION_DB: D1Database;
      /** Injected by vitest.config.ts: optional secrets in production, fresh random values in tests. */
      STRIPE_SECRET_KEY: string;
      STRIPE_WEBHOOK_SECRET: string;
    }
  }
}

/** Vite's `?raw` import: a file's text, for tests that check a document against the code. */
declare module '*.md?raw' {
  const text: string;
  export default text;
}
