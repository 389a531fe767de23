import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Tests run against the local implementations only; nothing remote.
        bindings: {
          ENVIRONMENT: 'test',
          CORS_ORIGINS: 'https://shop.test,https://admin.test',
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
        },
      },
      remoteBindings: false,
    })),
  ],
  test: {
    setupFiles: ['./test/setup/apply-migrations.ts'],
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
});
