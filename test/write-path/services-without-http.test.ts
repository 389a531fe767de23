/**
 * Services take plain data: a queue consumer, a cron job or a Durable Object calls them exactly as a route does,
 * with a Caller instead of the Hono context. These tests call them the way a job would: no request at all.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { customers, staffUsers } from '../../src/db/schema';
import { type AdminCaller, systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { ROLE_PERMISSIONS } from '../../src/lib/permissions';
import { createSecretKey } from '../../src/modules/api-keys/service';
import { eraseCustomer } from '../../src/modules/customers/account-service';
import { createInvite } from '../../src/modules/staff/invite-service';
import { deliverBatch, envelopesOf, outboxRowsOf } from '../helpers/events';

const db = createDb(env.DB);
const token = () => crypto.randomUUID().slice(0, 12);

async function ownerCaller(runId: string): Promise<AdminCaller> {
  const id = newId('stf');
  await db
    .insert(staffUsers)
    .values({ id, email: `owner-${token()}@example.com`, name: 'Owner', role: 'owner', passwordHash: 'x' });
  return {
    ...systemCaller('test', runId),
    actor: { type: 'staff', id },
    principal: {
      type: 'staff',
      id,
      role: 'owner',
      sessionId: 'none',
      permissions: new Set(ROLE_PERMISSIONS.owner),
    },
  };
}

describe('services called without an HTTP request', () => {
  it('invites a staff member: the invite, its audit entry and its event (the mail leaves from it), attributed to the caller', async () => {
    const runId = `job-${token()}`;
    const caller = await ownerCaller(runId);
    const email = `invitee-${token()}@example.com`;

    const invite = await createInvite(env, caller, { email, role: 'support' });

    expect(invite).toMatchObject({ email, role: 'support', invitedBy: caller.actor.id });
    expect(
      await env.DB.prepare(
        'SELECT actor_type, actor_id, action, target_id FROM audit_log WHERE request_id = ?',
      )
        .bind(runId)
        .all()
        .then((r) => r.results),
    ).toStrictEqual([
      { actor_type: 'staff', actor_id: caller.actor.id, action: 'staff_invite.create', target_id: invite.id },
    ]);
    // A job has no publisher: the event waits in the outbox for the sweep; here the queue handler gets it directly.
    const events = await outboxRowsOf(runId);
    expect(events.map((e) => [e.type, e.aggregateId, e.actorId, e.publishedAt])).toStrictEqual([
      ['staff_invite.created', invite.id, caller.actor.id, null],
    ]);
    expect((await deliverBatch(envelopesOf(events))).acked).toHaveLength(1);
    const mail = await env.DB.prepare('SELECT subject FROM dev_mailbox WHERE to_address = ?')
      .bind(email)
      .all();
    expect(mail.results).toStrictEqual([{ subject: 'You are invited to the edgecart admin' }]);
  });

  it('refuses to hand out a permission the caller does not hold, job or not', async () => {
    const runId = `job-${token()}`;
    const owner = await ownerCaller(runId);
    const narrow: AdminCaller = {
      ...owner,
      principal: { type: 'secret_key', id: 'key_narrow', permissions: new Set(['catalog:read']) },
    };
    await expect(
      createSecretKey(env, narrow, { name: 'wide', permissions: ['staff:manage'] }),
    ).rejects.toMatchObject({
      status: 403,
      code: 'permission_escalation',
    });
    const audit = await env.DB.prepare('SELECT id FROM audit_log WHERE request_id = ?').bind(runId).all();
    expect(audit.results).toStrictEqual([]);
  });

  it('erases a customer from a job: the account is anonymized and customer.deleted is in the outbox', async () => {
    const runId = `job-${token()}`;
    const id = newId('cus');
    await db.insert(customers).values({ id, email: `erase-${token()}@example.com`, firstName: 'Ada' });

    await eraseCustomer(db, systemCaller('retention', runId), id);

    expect(
      await env.DB.prepare('SELECT email, first_name FROM customers WHERE id = ?').bind(id).first(),
    ).toStrictEqual({ email: null, first_name: null });
    const events = await env.DB.prepare(
      'SELECT type, aggregate_id, actor_type, actor_id FROM outbox_events WHERE request_id = ?',
    )
      .bind(runId)
      .all();
    expect(events.results).toStrictEqual([
      { type: 'customer.deleted', aggregate_id: id, actor_type: 'system', actor_id: 'retention' },
    ]);
  });
});
