import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonContent, problems } from '../../lib/openapi';
import { DeadLetterDetailSchema, DeadLetterPageSchema, DeadLetterQuery } from './schemas';

const tags = ['Admin: events'];

// Dead letters are the integrations' failures (webhook deliveries fan out from these events), so they are managed
// with the integrations' permission rather than one of their own.
export const listDeadLetters = adminRoute('webhooks:manage', {
  method: 'get',
  path: '/events/dead-letters',
  tags,
  summary: 'List dead letters, newest first',
  description: 'Events a consumer gave up on after its retries, with each consumer’s last error.',
  request: { query: DeadLetterQuery },
  responses: { 200: jsonContent(DeadLetterPageSchema, 'A page of dead letters'), ...problems(401, 403, 422) },
});

export const getDeadLetter = adminRoute('webhooks:manage', {
  method: 'get',
  path: '/events/dead-letters/{id}',
  tags,
  summary: 'Get a dead letter with its event',
  request: { params: IdParams },
  responses: { 200: jsonContent(DeadLetterDetailSchema, 'The dead letter'), ...problems(401, 403, 404, 422) },
});

export const replayDeadLetter = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/events/dead-letters/{id}/replay',
  tags,
  summary: 'Send a dead letter’s event to its consumers again',
  description:
    'Consumers that already handled the event skip it; the others run again (a new failure makes a new dead ' +
    'letter). 409 `event_not_replayable` when no consumer can read the event, or it is too large for the queue.',
  request: { params: IdParams },
  responses: {
    202: jsonContent(
      DeadLetterDetailSchema,
      'The event is queued again; the dead letter with its replay count',
    ),
    ...problems(401, 403, 404, 409, 422),
  },
});
