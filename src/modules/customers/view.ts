import type { customers } from '../../db/schema';
import { decryptField } from '../../lib/encryption';
import type { CustomerView } from './schemas';

export type CustomerRow = typeof customers.$inferSelect;

export async function customerView(env: Env, row: CustomerRow): Promise<CustomerView> {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.emailVerifiedAt !== null,
    first_name: row.firstName,
    last_name: row.lastName,
    phone: row.phoneEncrypted ? await decryptField(env, row.phoneEncrypted) : null,
    locale: row.locale,
    created_at: row.createdAt.toISOString(),
  };
}
