// Public entry point of opencode-serve-client (browser-safe: no child_process here).

export { createClient, OpencodeClient, type OpencodeClientOptions } from "./client.js";
export type { ClientOptions } from "./http/options.js";
export type { Logger, LogFields } from "./http/logger.js";
export type {
  CallOptions,
  EventStreamPath,
  HttpMethod,
  PathsWithMethod,
  RequestInit,
  RequestOptions,
  RequestPath,
  ResponseData,
} from "./http/paths.js";
export { Agents, Config, Files, Find, Providers, type ModelEntry } from "./resources.js";
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
  ConfigurationError,
  EventStreamRouteError,
} from "./http/errors.js";
export { ServerInfo, UnsupportedServerError, type ServerHealth } from "./http/server-version.js";
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
  unplacedSessions,
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
  UnansweredError,
  TurnTimeoutError,
  StopTimeoutError,
  classifyProviderError,
} from "./turn/errors.js";
export type { RawProviderError } from "./turn/errors.js";
export { Turn, type PromptOptions, type PartInput, type TurnTiming } from "./turn/turn.js";
export type { SubagentDetail } from "./turn/map-event.js";
export { Session, Sessions, type SessionInfo, type PermissionResponse, type StoredMessage } from "./session/session.js";
export { SessionMutex } from "./session/mutex.js";
export {
  toSSEResponse,
  pipeTurnToNodeResponse,
  resumeSSEResponse,
  pipeResumeToNodeResponse,
  SSE_HEADERS,
  RESUME_HEADER,
  attachFromServer,
  type AttachableSessions,
  type SSEOptions,
  type NodeResponseLike,
  type NodeRequestLike,
} from "./ui/sse.js";
export {
  toUIMessageStream,
  toUIMessageStreamResponse,
  UIChats,
  UIMessageChunks,
  UI_MESSAGE_STREAM_HEADERS,
  assistantMessageId,
  type OpencodeUIChunk,
  type OpencodeUIMetadata,
  type OpencodeUIDataTypes,
  type OpencodeProviderMetadata,
  type QuestionData,
  type SubagentData,
  type CompactionData,
  type RetryData,
  type TurnLike,
  type UIChatOptions,
  type UIMessageStreamOptions,
  type ChatRequestBody,
  type ChatMessageLike,
} from "./ui/ai-sdk.js";
export { TurnReplay, TurnReplays, ReplayGapError, type ReplayOptions, type ReplayFrame } from "./ui/replay.js";
export {
  toWireReply,
  toWireError,
  browserSafeMessage,
  frameId,
  parseFrameId,
  skipDelivered,
  CursorTracker,
  type WireReply,
  type WireError,
  type FramePosition,
  type TextCursor,
} from "./browser/wire.js";
export type { paths, components, operations } from "../generated/opencode.js";
