/**
 * Publishing to live topics: `publishLive` checks the draft against the protocol (src/lib/live-messages.ts) and
 * hands it to the topic's LiveChannel object, which numbers it and sends it to the topic's subscribers. One RPC;
 * with no subscriber the channel only records the seq (and the state, for stock and prices).
 *
 * Live events are news about changes already committed: publish after the write (a commit follow-up, or
 * `waitUntil` in a Durable Object), never inside it, and never let a failure here fail the write. A lost event
 * is healed by the next one (data values are absolute) or by a client's `resync`.
 */
import type { FollowUp } from './commit';
import { channelStub, type LiveChannelNamespace } from './live-channel-contract';
import { EVENT_TOPIC_KINDS, LiveEventDraft, type Topic, topicKind } from './live-messages';

export function publishLive(ns: LiveChannelNamespace, topic: Topic, draft: LiveEventDraft) {
  const event = LiveEventDraft.parse(draft);
  if (EVENT_TOPIC_KINDS[event.type] !== topicKind(topic)) {
    throw new TypeError(`a ${event.type} event cannot be published on ${topic}`);
  }
  return channelStub(ns, topic).publish(topic, event);
}

/** `publishLive` as a commit() follow-up: runs after the batch, retried and logged by commit, never thrown. */
export function liveFollowUp(ns: LiveChannelNamespace, topic: Topic, draft: LiveEventDraft): FollowUp {
  return { name: `live.${draft.type}`, run: () => publishLive(ns, topic, draft) };
}
