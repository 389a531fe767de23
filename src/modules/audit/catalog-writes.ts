/**
 * Audit entries for catalog and settings writes (regions, products, variants, prices, categories, collections,
 * identity providers). One middleware instead of a call in every handler: it reads the target's row before the
 * write and after it, and records `{ field: { from, to } }` plus the request's top-level fields. Staff, API-key
 * and invite routes record their own, richer entries (src/modules/staff, src/modules/api-keys).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../env';
import { recordAudit } from './service';

type Rule = { pattern: RegExp; targetType: string; table: string; verb?: string };

/** Path -> what it writes. The first capture group, when present, is the target id. */
const RULES: Rule[] = [
  { pattern: /^\/v1\/admin\/regions(?:\/([^/]+))?$/, targetType: 'region', table: 'regions' },
  {
    pattern: /^\/v1\/admin\/products\/([^/]+)\/archive$/,
    targetType: 'product',
    table: 'products',
    verb: 'archive',
  },
  { pattern: /^\/v1\/admin\/products\/[^/]+\/variants$/, targetType: 'variant', table: 'variants' },
  { pattern: /^\/v1\/admin\/products(?:\/([^/]+))?$/, targetType: 'product', table: 'products' },
  {
    pattern: /^\/v1\/admin\/variants\/([^/]+)\/prices$/,
    targetType: 'variant',
    table: 'variants',
    verb: 'set_prices',
  },
  { pattern: /^\/v1\/admin\/variants\/([^/]+)$/, targetType: 'variant', table: 'variants' },
  { pattern: /^\/v1\/admin\/categories(?:\/([^/]+))?$/, targetType: 'category', table: 'categories' },
  { pattern: /^\/v1\/admin\/collections(?:\/([^/]+))?$/, targetType: 'collection', table: 'collections' },
  {
    pattern: /^\/v1\/admin\/identity-providers(?:\/([^/]+))?$/,
    targetType: 'identity_provider',
    table: 'identity_providers',
  },
];

const VERBS: Record<string, string> = { POST: 'create', PATCH: 'update', PUT: 'update', DELETE: 'delete' };
/** Bookkeeping columns that change on every write and say nothing about it. */
const IGNORED = new Set(['updated_at', 'created_at']);

type Row = Record<string, unknown>;

async function readRow(d1: D1Database, table: string, id: string | undefined): Promise<Row | null> {
  if (!id) return null;
  // `table` comes from RULES above, never from the request.
  return d1.prepare(`SELECT * FROM ${table} WHERE id = ?`).bind(id).first<Row>();
}

function diff(before: Row | null, after: Row | null): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
    if (IGNORED.has(field)) continue;
    const from = before?.[field] ?? null;
    const to = after?.[field] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return changes;
}

async function requestFields(request: Request): Promise<string[]> {
  try {
    const body: unknown = await request.clone().json();
    return body && typeof body === 'object' ? Object.keys(body) : [];
  } catch {
    return [];
  }
}

export function auditCatalogWrites() {
  return createMiddleware<AppEnv>(async function auditCatalogWrites(c, next) {
    const verb = VERBS[c.req.method];
    const rule = verb ? RULES.find((r) => r.pattern.test(c.req.path)) : undefined;
    if (!verb || !rule) return next();
    const pathId = rule.pattern.exec(c.req.path)?.[1];
    const before = await readRow(c.env.DB, rule.table, pathId);
    const fields = await requestFields(c.req.raw);

    await next();
    if (c.res.status >= 300) return;

    const createdId = pathId ? undefined : ((await c.res.clone().json()) as { id?: string }).id;
    const targetId = pathId ?? createdId ?? null;
    const after = await readRow(c.env.DB, rule.table, targetId ?? undefined);
    await recordAudit(c, {
      action: `${rule.targetType}.${rule.verb ?? verb}`,
      targetType: rule.targetType,
      targetId,
      changes: { fields, ...(before || after ? { row: diff(before, after) } : {}) },
    });
  });
}
