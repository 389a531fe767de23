export declare const INVITE_TTL_MS: number;
export declare function normalizeEmail(input: string): string;
export declare function ownerCheckSql(email: string): string;
export declare function ownerInvite(
  email: string,
  now?: number,
): Promise<{ id: string; email: string; token: string; expiresAt: number; sql: string }>;
