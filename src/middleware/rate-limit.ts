/**
 * Abuse limits on guessable endpoints, with the Workers rate limiting binding: per client IP and per account.
 * Over the limit is a 429 problem with Retry-After (the binding's window is 60 s).
 */
import type { HonoRequest } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { AppError } from '../lib/errors';

export type Limiter =
  | 'AUTH_IP_RATE_LIMITER'
  | 'AUTH_ACCOUNT_RATE_LIMITER'
  | 'DISCOUNT_CART_RATE_LIMITER'
  | 'DISCOUNT_IP_RATE_LIMITER'
  | 'PAYMENT_CONFIRM_RATE_LIMITER';

const WINDOW_SECONDS = 60;

export function clientIp(c: { req: HonoRequest }): string {
  return c.req.header('CF-Connecting-IP') ?? 'unknown';
}

/** Counts one attempt under `key`; any surface's context will do, only its bindings are used. */
export async function rateLimit(limiter: Limiter, key: string, c: { env: Env }): Promise<void> {
  const { success } = await c.env[limiter].limit({ key });
  if (!success) {
    throw new AppError(429, 'rate_limited', 'Too many attempts; wait a minute and try again.', {
      headers: { 'Retry-After': String(WINDOW_SECONDS) },
    });
  }
}

/** Per-IP limit for a whole auth route. */
export function limitByIp() {
  return createMiddleware<AppEnv>(async function limitByIp(c, next) {
    await rateLimit('AUTH_IP_RATE_LIMITER', `ip:${clientIp(c)}`, c);
    await next();
  });
}
