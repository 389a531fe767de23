import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      /** Injected by vitest.config.ts: the SQL of migrations/, applied by test/setup. */
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
