import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/** Fresh test-only secrets every run: nothing secret is committed, and tests cannot depend on fixed keys. */
function signingKey(kid: string) {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
}

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // A second, empty database for migration tests that start from an older schema (test/setup leaves it
        // empty); DB stays as wrangler.toml binds it.
        d1Databases: { MIGRATION_DB: 'migration-test' },
        // Tests run against the local implementations only; nothing remote.
        bindings: {
          ENVIRONMENT: 'test',
          CORS_ORIGINS: 'https://shop.test,https://admin.test',
          PUBLIC_URL: 'https://api.edgecart.test',
          EMAIL_PROVIDER: 'dev-mailbox',
          EMAIL_API_KEY: 'test-email-api-key',
          // Manual is the default; Stripe is reachable only through tests that fake it at the fetch boundary.
          PAYMENT_PROVIDERS: 'manual,stripe',
          STRIPE_SECRET_KEY: `sk_test_${randomBytes(12).toString('hex')}`,
          STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
          // The first key signs; the second is a previous key still accepted (rotation).
          JWT_SIGNING_KEYS: JSON.stringify([signingKey('test-2'), signingKey('test-1')]),
          DATA_ENCRYPTION_KEYS: JSON.stringify([
            { kid: 'test-2', key: randomBytes(32).toString('base64') },
            { kid: 'test-1', key: randomBytes(32).toString('base64') },
          ]),
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
        },
      },
      remoteBindings: false,
    })),
  ],
  test: {
    setupFiles: ['./test/setup/apply-migrations.ts'],
    include: ['test/**/*.test.ts'],
    // A timeout here only catches a hang. Speed is measured in bench/, never by a test: the 5 s default failed
    // tests that walk every route when the machine was busy, which says nothing about the code.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/node/summary-reporter.ts'],
    // One JSON line per request (and per live connection) is right in production and noise in a test run;
    // errors still print.
    onConsoleLog: (log) => !log.includes('"msg":"request"') && !log.includes('"msg":"live session ended"'),
  },
});
