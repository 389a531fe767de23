/**
 * The event catalog is the contract: docs/EVENTS.md lists exactly its types, docs/WEBHOOKS.md exactly its public
 * ones, the OpenAPI document has a webhook per public type (and nothing internal), and an envelope is read only in a
 * version and shape the catalog knows.
 */
import { describe, expect, it } from 'vitest';
import eventsDoc from '../../docs/EVENTS.md?raw';
import webhooksDoc from '../../docs/WEBHOOKS.md?raw';
import {
  currentVersion,
  dataSchema,
  EVENT_CATALOG,
  EVENT_TYPES,
  eventSchemaName,
  PUBLIC_EVENT_TYPES,
  parseCatalogEvent,
} from '../../src/lib/event-catalog';
import { syntheticEnvelope } from '../helpers/events';
import { call } from '../helpers/http';

type Document = {
  webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
  components: { schemas: Record<string, unknown> };
};

describe('the event catalog', () => {
  it('is the table in docs/EVENTS.md, row for row', () => {
    const rows = EVENT_TYPES.map((type) => {
      const spec = EVENT_CATALOG[type];
      const version = currentVersion(type);
      const fields = Object.entries(dataSchema(type, version)?.shape ?? {})
        .map(([name, schema]) => `\`${name}${schema.safeParse(undefined).success ? '?' : ''}\``)
        .join(', ');
      return `| \`${type}\` | ${spec.audience} | ${spec.aggregate} | ${version} | ${fields} | ${spec.description} |`;
    });
    const documented = eventsDoc
      .split('\n')
      .filter((line) => /^\| `[a-z_]+\.[a-z_]+` \| (public|internal) \|/.test(line));
    expect(documented).toStrictEqual(rows);
  });

  it('is the list of known types in docs/WEBHOOKS.md: every type an endpoint may subscribe to, and only those', () => {
    const paragraph = webhooksDoc.slice(
      webhooksDoc.indexOf('Known types'),
      webhooksDoc.indexOf('An unknown name'),
    );
    // Written `aggregate.verb|verb`: one entry per aggregate.
    const listed = [...paragraph.matchAll(/`([a-z_]+)\.([a-z_|]+)`/g)].flatMap(([, aggregate, verbs]) =>
      (verbs ?? '').split('|').map((verb) => `${aggregate}.${verb}`),
    );
    expect(listed.toSorted()).toStrictEqual(PUBLIC_EVENT_TYPES.toSorted());
  });

  it('publishes each public type as a webhook in the OpenAPI document, and no internal one', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Document;
    expect(Object.keys(doc.webhooks)).toStrictEqual(PUBLIC_EVENT_TYPES);
    for (const type of PUBLIC_EVENT_TYPES) {
      const name = eventSchemaName(type, currentVersion(type));
      expect(doc.webhooks[type]?.post.requestBody.content['application/json']?.schema, type).toStrictEqual({
        $ref: `#/components/schemas/${name}`,
      });
      expect(doc.components.schemas[name], type).toMatchObject({
        properties: { type: { enum: [type] }, version: { enum: [currentVersion(type)] } },
      });
    }
    const internal = EVENT_TYPES.filter((type) => !PUBLIC_EVENT_TYPES.includes(type));
    expect(internal).toStrictEqual([
      'customer.email_verification_requested',
      'password_reset.requested',
      'staff_invite.created',
    ]);
    for (const type of internal) expect(JSON.stringify(doc)).not.toContain(type);
  });

  it('reads an envelope only in a known type, version and shape', () => {
    const paid = {
      id: 'ord_1',
      region: 'eu',
      country: 'DE',
      currency: 'EUR',
      amount: 100,
      payment_id: 'pay_1',
      via: 'checkout',
    };
    expect(parseCatalogEvent(syntheticEnvelope('order.paid', paid))).toMatchObject({
      event: { type: 'order.paid', data: paid },
    });
    const refusal = (envelope: unknown) => (parseCatalogEvent(envelope) as { refusal: string }).refusal;
    expect(refusal(syntheticEnvelope('order.paid', paid, { version: 2 }))).toMatch(/^\/version: /);
    expect(refusal(syntheticEnvelope('order.shipped', paid))).toMatch(/^\/type: /);
    expect(refusal(syntheticEnvelope('order.paid', { ...paid, currency: 'euro' }))).toMatch(
      /^\/data\/currency: /,
    );
    expect(refusal(syntheticEnvelope('order.paid', { ...paid, note: 'x' }))).toMatch(/^\/data: /);
    expect(refusal({ type: 'order.paid' })).toMatch(/^\/(id|version|occurred_at|aggregate|data): /);
  });
});
