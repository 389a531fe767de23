#!/usr/bin/env node
/**
 * Creates the first owner of a deployment: writes an owner invitation into D1 with `wrangler d1 execute` and
 * prints its token once. The person it names accepts it through the API (choosing their name and password) and
 * enrolls MFA at first login.
 *
 *   npm run owner:create -- --local ana@example.com
 *   npm run owner:create -- --remote ana@example.com
 *
 * Refuses when an active owner exists (they invite further owners through the API) unless --force is given,
 * the break-glass path when every owner is locked out.
 */
import { spawnSync } from 'node:child_process';
import { INVITE_TTL_MS, ownerCheckSql, ownerInvite } from './lib/owner-invite.mjs';

const args = process.argv.slice(2);
const target = args.includes('--remote') ? '--remote' : args.includes('--local') ? '--local' : null;
const email = args.find((a) => !a.startsWith('--'));
if (!target || !email) {
  console.error('usage: npm run owner:create -- --local|--remote <email> [--force]');
  process.exit(2);
}

function d1(sqlArgs) {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'd1', 'execute', 'DB', target, '--json', ...sqlArgs],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) {
    console.error(result.stderr || result.stdout);
    process.exit(1);
  }
  return JSON.parse(result.stdout);
}

try {
  const [check] = d1(['--command', ownerCheckSql(email)]);
  const { owners, same_email: sameEmail } = check.results[0];
  if (sameEmail > 0) {
    console.error(`${email} already belongs to a staff member.`);
    process.exit(1);
  }
  if (owners > 0 && !args.includes('--force')) {
    console.error(`This deployment has ${owners} active owner(s); invite further owners through the API.`);
    console.error('Add --force only to regain access when every owner is locked out.');
    process.exit(1);
  }
  const invite = await ownerInvite(email);
  d1(['--command', invite.sql]);
  const base = target === '--local' ? 'http://localhost:8787' : '<your PUBLIC_URL>';
  console.log(`Owner invitation ${invite.id} for ${invite.email}, valid ${INVITE_TTL_MS / 3600_000} hours.`);
  console.log('The token is shown once; hand it over privately.\n');
  console.log(`  token: ${invite.token}\n`);
  console.log('Accept it (then log in at /v1/auth/staff/login and enroll MFA):');
  console.log(
    `  curl -X POST ${base}/v1/auth/staff/invites/accept -H 'Content-Type: application/json' \\\n` +
      `    -d '{"token":"${invite.token}","name":"Your Name","password":"<at least 12 characters>"}'`,
  );
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
