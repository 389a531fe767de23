import { z } from '@hono/zod-openapi';
import { LIVE_LIMITS, LiveTopic, type Topic } from '../../lib/live-messages';
import { queryInteger } from '../../lib/query-integer';

const TOPIC_EXAMPLE = 'product:prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB';

/** `topics=a,b`: distinct topics, in the order given (an SSE stream's cursor follows it). */
const TopicList = z
  .string()
  .max(LIVE_LIMITS.maxSubscriptions * 64)
  .transform((value, ctx) => {
    const topics: Topic[] = [];
    for (const [i, part] of value.split(',').entries()) {
      const topic = LiveTopic.safeParse(part);
      if (!topic.success) {
        ctx.addIssue({ code: 'custom', path: [i], message: topic.error.issues[0]?.message ?? 'Not a topic' });
      } else if (topics.includes(topic.data)) {
        ctx.addIssue({ code: 'custom', path: [i], message: 'Listed twice' });
      } else {
        topics.push(topic.data);
      }
    }
    if (topics.length > LIVE_LIMITS.maxSubscriptions) {
      ctx.addIssue({ code: 'custom', message: `At most ${LIVE_LIMITS.maxSubscriptions} topics` });
    }
    return topics;
  });

const TicketParam = z
  .string()
  .min(1)
  .max(4096)
  .openapi({ description: 'A ticket from `POST /v1/live/tickets`, for topics that need credentials' });

export const ConnectQuery = z.object({
  topics: TopicList.optional().openapi({
    description: 'Topics to follow from the start, comma-separated (more can be subscribed to by message)',
    example: TOPIC_EXAMPLE,
  }),
  ticket: TicketParam.optional(),
});

export const ChannelQuery = z.object({
  topic: LiveTopic.openapi({ description: 'The one topic this connection follows', example: TOPIC_EXAMPLE }),
  after_seq: queryInteger(0)
    .optional()
    .openapi({
      description:
        'The last seq received on the topic, when reconnecting: what came after it is replayed, or `resync` says ' +
        'it is gone',
      example: 12,
    }),
  ticket: TicketParam.optional(),
});

export const SseQuery = z.object({
  topics: TopicList.openapi({ description: 'Topics to follow, comma-separated', example: TOPIC_EXAMPLE }),
  ticket: TicketParam.optional(),
  last_event_id: z
    .string()
    .max(512)
    .optional()
    .openapi({
      description:
        'The last event id received, for a client that opens a new stream itself (with a new ticket) rather ' +
        'than letting EventSource reconnect; `Last-Event-ID` wins when both are sent',
      example: '12',
    }),
});

export const SseHeaders = z.object({
  'last-event-id': z.string().max(512).optional().openapi({
    description: 'Sent by EventSource when it reconnects: every topic resumes after its last seq',
    example: '12,5',
  }),
});

export const TicketBody = z
  .object({
    topics: z
      .array(LiveTopic)
      .min(1)
      .max(LIVE_LIMITS.maxSubscriptions)
      .refine((topics) => new Set(topics).size === topics.length, 'Each topic once')
      .openapi({ example: ['staff:feed'] }),
  })
  .strict();

export const TicketSchema = z
  .object({
    ticket: z
      .string()
      .openapi({ description: 'Pass as `?ticket=` when connecting, or in a subscribe message' }),
    topics: z.array(z.string()).openapi({ example: ['staff:feed'] }),
    expires_at: z
      .string()
      .openapi({ description: 'Connect or subscribe before this (60 s)', format: 'date-time' }),
    subscriptions_end_at: z.string().openapi({
      description:
        'When subscriptions opened with it end (`unsubscribed` with reason `expired`): the credential’s own ' +
        'expiry, at most an hour',
      format: 'date-time',
    }),
  })
  .openapi('LiveTicket');
export type LiveTicket = z.infer<typeof TicketSchema>;
