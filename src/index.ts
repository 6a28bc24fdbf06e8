// Public entry point of opencode-serve-client (browser-safe: no child_process here).

export { createClient, OpencodeClient, type OpencodeClientOptions } from "./client.js";
export type { ClientOptions } from "./http/options.js";
export type { Logger, LogFields } from "./http/logger.js";
export type { HttpMethod, PathsWithMethod, RequestInit, RequestOptions, ResponseData } from "./http/paths.js";
export {
  OpencodeError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  TooManyRequestsError,
  InternalServerError,
  InvalidResponseError,
  APIConnectionError,
  APITimeoutError,
  AbortError,
  StreamError,
} from "./http/errors.js";
export { EventHub, EventSubscription, SubscriberOverflowError, STREAM_GAP } from "./events/index.js";
export type {
  ConnectionState,
  Event,
  EventHubOptions,
  EventOf,
  EventServerHeartbeat,
  EventType,
  ReconnectInfo,
  StreamGap,
  SubscribeOptions,
} from "./events/index.js";
export {
  mapEvent,
  initialTurnState,
  markGap,
  applySnapshot,
  isCatchingUp,
  unfinishedWhileIdle,
  messageText,
  lastAssistantText,
} from "./turn/map-event.js";
export type { TurnState, TurnSnapshot, MapResult } from "./turn/map-event.js";
export type {
  Reply,
  TerminalReply,
  DeltaReply,
  ReasoningReply,
  ToolCallReply,
  ToolResultReply,
  PermissionReply,
  PermissionRepliedReply,
  QuestionReply,
  QuestionRepliedReply,
  QuestionItem,
  QuestionOption,
  SubagentReply,
  CompactionReply,
  DiscardedText,
  ReplyKind,
  RetryReply,
  FinalReply,
  ErrorReply,
  Usage,
} from "./turn/replies.js";
export {
  ProviderError,
  RateLimitError,
  ProviderAuthError,
  BillingError,
  OutputLengthError,
  ContextOverflowError,
  ProviderServerError,
  AbortedError,
  UnknownProviderError,
  InterruptedError,
  classifyProviderError,
} from "./turn/errors.js";
export type { RawProviderError } from "./turn/errors.js";
export { Turn, type PromptOptions, type PartInput } from "./turn/turn.js";
export { Session, Sessions, type SessionInfo, type PermissionResponse } from "./session/session.js";
export { SessionMutex } from "./session/mutex.js";
export { toSSEResponse, pipeTurnToNodeResponse, SSE_HEADERS, type SSEOptions } from "./ui/sse.js";
export { toWireReply, type WireReply, type WireError } from "./browser/wire.js";
export type { paths, components, operations } from "../generated/opencode.js";
