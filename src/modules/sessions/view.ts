import type { SessionRow } from './service';

/** A session as its owner sees it; `current` marks the one the calling token belongs to. */
export function sessionView(row: SessionRow, currentSessionId: string | undefined) {
  return {
    id: row.id,
    user_agent: row.userAgent,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    current: row.id === currentSessionId,
  };
}
