import { describe, expect, it } from 'vitest';
import { call } from './helpers/http';
import { type OpenApiDocument, renderPermissionTable } from './helpers/permission-table';

describe('docs/PERMISSIONS.md', () => {
  it('matches the permissions the admin routes declare (regenerate with `npm run docs:permissions`)', async () => {
    const doc = (await (await call('/openapi.json')).json()) as OpenApiDocument;
    await expect(
      renderPermissionTable(doc),
      'docs/PERMISSIONS.md is out of date: run npm run docs:permissions',
    ).toMatchFileSnapshot('../docs/PERMISSIONS.md');
  });
});
