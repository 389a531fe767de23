/**
 * No HTTP, no D1: renders docs/PERMISSIONS.md from the served OpenAPI document and the role table, so the
 * committed file can be compared with what the code declares (test/permissions-doc.test.ts,
 * `npm run docs:permissions`).
 */

import { STAFF_ROLES } from '../../src/db/schema';
import { PERMISSIONS, ROLE_PERMISSIONS } from '../../src/lib/permissions';

export type Operation = {
  summary?: string;
  'x-permission'?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
};
export type OpenApiDocument = { paths: Record<string, Record<string, Operation>> };
export type AdminOperation = { method: string; path: string; permission: string; summary: string };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation under /v1/admin, sorted by path then method. */
export function adminOperations(doc: OpenApiDocument): AdminOperation[] {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/admin/'))
    .flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          permission: op['x-permission'] ?? '(none)',
          summary: op.summary ?? '',
        })),
    )
    .sort((a, b) =>
      a.path === b.path
        ? METHODS.indexOf(a.method.toLowerCase()) - METHODS.indexOf(b.method.toLowerCase())
        : a.path < b.path
          ? -1
          : 1,
    );
}

export function renderPermissionTable(doc: OpenApiDocument): string {
  const routes = adminOperations(doc).map(
    (op) => `| ${op.method} | \`${op.path}\` | \`${op.permission}\` | ${op.summary} |`,
  );
  const roles = PERMISSIONS.map(
    (p) =>
      `| \`${p}\` | ${STAFF_ROLES.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? 'yes' : '')).join(' | ')} |`,
  );
  return [
    '# Admin permissions',
    '',
    'Generated from `/openapi.json` (each admin route’s `x-permission`) and `ROLE_PERMISSIONS` in',
    '`src/lib/permissions.ts` by `npm run docs:permissions`. Do not edit by hand: a test fails when this file',
    'and the code disagree.',
    '',
    'A staff member holds their role’s permissions; a secret API key holds the permissions it was created with.',
    'A route answers 403 `forbidden` to a principal without its permission, before reading the request.',
    '',
    '## Routes',
    '',
    '| Method | Path | Permission | Summary |',
    '|---|---|---|---|',
    ...routes,
    '',
    '## Roles',
    '',
    `| Permission | ${STAFF_ROLES.join(' | ')} |`,
    `|---|${STAFF_ROLES.map(() => '---').join('|')}|`,
    ...roles,
    '',
    'Beyond permissions, only an owner can grant the owner role or change an owner, and nobody can change their',
    'own role or status (see docs/AUTH.md).',
    '',
  ].join('\n');
}
