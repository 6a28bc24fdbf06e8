// The `/event` stream layer: one shared SSE connection per client, fanned out to subscribers.

export { EventHub, type EventHubOptions, type SubscribeOptions } from "./hub.js";
export { EventSubscription, type ReconnectInfo } from "./subscription.js";
export { SubscriberOverflowError } from "./errors.js";
export type { ConnectionState, Event, EventOf, EventServerHeartbeat, EventType, StreamGap } from "./types.js";
export { STREAM_GAP } from "./types.js";
