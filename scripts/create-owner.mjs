// Creates the first owner of a deployment: `npm run owner:create -- [--local|--remote] <email> [--force]`.
// Writes an owner invitation into D1 and prints its token once; the person it names accepts it through the API
// (choosing name and password) and must enroll MFA at first login. Refuses when an active owner exists (owners
// invite further owners through the API) unless --force is given: the break-glass path when every owner is
// locked out.
import { INVITE_TTL_MS, ownerCheckSql, ownerInvite } from './lib/owner-invite.mjs';
import { executeSql, query, target } from './lib/wrangler.mjs';

const where = target();
const args = process.argv.slice(2);
const email = args.find((a) => !a.startsWith('--'));
if (!email) {
  console.error('usage: npm run owner:create -- [--local|--remote] <email> [--force]');
  process.exit(2);
}

try {
  const [{ owners, same_email: sameEmail }] = query(ownerCheckSql(email), where);
  if (sameEmail > 0) throw new Error(`${email} already belongs to a staff member.`);
  if (owners > 0 && !args.includes('--force')) {
    throw new Error(
      `This deployment has ${owners} active owner(s): invite further owners through the API.\n` +
        'Add --force only to regain access when every owner is locked out.',
    );
  }
  const invite = await ownerInvite(email);
  executeSql(invite.sql, where);
  const base = where === '--local' ? 'http://localhost:8787' : 'https://<PUBLIC_URL>';
  console.log(
    [
      `Owner invitation ${invite.id} for ${invite.email} (${where === '--remote' ? 'deployed' : 'local'} database), ` +
        `valid ${INVITE_TTL_MS / 3600_000} hours. The token is not shown again; hand it over privately:`,
      `  ${invite.token}`,
      'Accept it, then log in at /v1/auth/staff/login and enroll MFA:',
      `  curl -X POST ${base}/v1/auth/staff/invites/accept -H 'Content-Type: application/json' \\`,
      `    -d '{"token":"${invite.token}","name":"Your Name","password":"<at least 12 characters>"}'`,
    ].join('\n'),
  );
} catch (error) {
  console.error(`Could not create the owner invitation: ${error.message}`);
  process.exit(1);
}
