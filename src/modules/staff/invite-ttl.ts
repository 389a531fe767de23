/** How long a staff invitation can be accepted. No imports: scripts/lib/owner-invite.mjs uses it too. */
export const INVITE_TTL_MS = 72 * 3600 * 1000;
