import { createRoute } from '@hono/zod-openapi';
import { jsonContent, problems } from '../../lib/openapi';
import { STRIPE_EVENT_DOCUMENT, StripeHookResultSchema } from './schemas';

export const receiveStripeEvent = createRoute({
  method: 'post',
  path: '/stripe',
  tags: ['Hooks'],
  summary: 'Receive a Stripe webhook event',
  description:
    'Called by Stripe, not by clients. The `Stripe-Signature` header must verify against the endpoint’s ' +
    'signing secret (`STRIPE_WEBHOOK_SECRET`) with a timestamp within 300 seconds. Each event is applied at ' +
    'most once; a redelivered event is answered 200 `duplicate` and changes nothing.',
  // The signature is the only credential; the route reads the raw body itself to verify it, so nothing here
  // is validated before that (see STRIPE_EVENT_DOCUMENT).
  security: [{ stripeSignature: [] }],
  request: { body: { content: { 'application/json': { schema: STRIPE_EVENT_DOCUMENT } }, required: true } },
  responses: {
    200: jsonContent(StripeHookResultSchema, 'Received: applied, a duplicate, or nothing to do'),
    ...problems(400, 413, 415, 503),
  },
});
