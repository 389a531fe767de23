import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { admin, createProduct, createRegion, expectRejected } from '../helpers/admin-fixtures';
import { unique } from '../helpers/unique';

type Entry = {
  actor_type: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string | null;
  changes: string | null;
  request_id: string;
};

async function entriesFor(targetId: string): Promise<Entry[]> {
  const { results } = await env.DB.prepare(
    'SELECT actor_type, actor_id, action, target_type, target_id, changes, request_id FROM audit_log WHERE target_id = ? ORDER BY id',
  )
    .bind(targetId)
    .all<Entry>();
  return results;
}

describe('audit log of catalog writes', () => {
  it('records who created, changed and deleted a product, with a before/after summary', async () => {
    const product = await createProduct();
    const handle = unique('renamed');
    const patch = await admin('PATCH', `/products/${product.id}`, { handle, status: 'active' });
    expect(patch.status).toBe(200);
    const del = await admin('DELETE', `/products/${product.id}`);
    expect(del.status).toBe(204);

    const entries = await entriesFor(product.id);
    expect(entries.map((e) => [e.actor_type, e.action, e.target_type])).toStrictEqual([
      ['secret_key', 'product.create', 'product'],
      ['secret_key', 'product.update', 'product'],
      ['secret_key', 'product.delete', 'product'],
    ]);
    expect(entries.every((e) => e.actor_id.startsWith('key_'))).toBe(true);
    expect(entries[1]?.request_id).toBe(patch.headers.get('X-Request-Id'));
    expect(JSON.parse(entries[1]?.changes as string)).toStrictEqual({
      fields: ['handle', 'status'],
      row: { handle: { from: product.handle, to: handle }, status: { from: 'draft', to: 'active' } },
    });
    const deleted = JSON.parse(entries[2]?.changes as string) as { row: Record<string, { to: unknown }> };
    expect(deleted.row.handle).toStrictEqual({ from: handle, to: null });
  });

  it('records region changes and nothing for a refused write', async () => {
    const region = await createRegion();
    await expectRejected(
      () => admin('PATCH', `/regions/${region.id}`, { tax_rate_bps: -5 }),
      422,
      'validation_failed',
      [{ pointer: '/body/tax_rate_bps', message: expect.any(String) }],
    );
    const ok = await admin('PATCH', `/regions/${region.id}`, { tax_rate_bps: 700 });
    expect(ok.status).toBe(200);
    const entries = await entriesFor(region.id);
    expect(entries.map((e) => e.action)).toStrictEqual(['region.create', 'region.update']);
    expect(JSON.parse(entries[1]?.changes as string)).toStrictEqual({
      fields: ['tax_rate_bps'],
      row: { tax_rate_bps: { from: region.tax_rate_bps, to: 700 } },
    });
  });

  it('is readable through GET /v1/admin/audit-log', async () => {
    const region = await createRegion();
    const res = await admin('GET', `/audit-log?target_type=region&target_id=${region.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { action: string }[] };
    expect(body.data.map((e) => e.action)).toStrictEqual(['region.create']);
  });
});
