/**
 * Declares and enforces the permission of an admin route. `adminRoute()` wraps `createRoute()` so the
 * permission is written once and drives both the check (403 before the handler runs) and the OpenAPI
 * document (`x-permission`, from which docs/PERMISSIONS.md is generated).
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AdminEnv } from '../lib/app-env';
import { AppError } from '../lib/errors';
import type { Permission } from '../lib/permissions';

export function requirePermission(permission: Permission) {
  return createMiddleware<AdminEnv>(async function requirePermission(c, next) {
    const principal = c.get('principal');
    if (!principal.permissions.has(permission)) {
      throw new AppError(403, 'forbidden', `This action needs the "${permission}" permission.`);
    }
    await next();
  });
}

/** Either credential may call any admin route; the permission decides. */
const ADMIN_SECURITY: NonNullable<RouteConfig['security']> = [{ staffToken: [] }, { secretKey: [] }];

/**
 * An admin route: the permission is checked first; middleware that needs the caller (an Idempotency-Key claim
 * scoped to them) follows in `then`.
 */
export function adminRoute<const R extends Omit<RouteConfig, 'middleware' | 'security'>>(
  permission: Permission,
  route: R,
  ...then: MiddlewareHandler<AdminEnv>[]
) {
  // Typed as the permission check alone, as guardedRoute() does: every handler in the chain has its env.
  const middleware = [requirePermission(permission), ...then] as [MiddlewareHandler<AdminEnv>];
  // Object.assign keeps R's literal types (a spread of a type parameter widens to its constraint, which
  // would leave handlers with untyped input).
  return createRoute(
    Object.assign({}, route, {
      middleware,
      security: ADMIN_SECURITY,
      'x-permission': permission,
    }),
  );
}
