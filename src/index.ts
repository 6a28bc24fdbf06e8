// Public entry point of opencode-serve-client (browser-safe: no child_process here). What is
// exported is what the docs document: classes whose instances the client hands out (sessions,
// turns, the event hub) are exported as types only; codec internals stay in their modules.

export { createClient, OpencodeClient, type OpencodeClientOptions, type CloseOptions } from "./client.js";
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
export type { Agents, Commands, Config, Files, Find, Providers, ModelEntry, SlashCommand } from "./resources.js";
export { bytes, url, AttachmentTooLargeError, UnsupportedAttachmentError, type AttachmentOptions, type FilePartInput } from "./session/attachments.js";
export type { PermissionPolicy, PermissionRule, PermissionAction } from "./turn/permission-policy.js";
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
  RedirectError,
  ResponseTooLargeError,
  APIConnectionError,
  APITimeoutError,
  AbortError,
  StreamError,
  ConfigurationError,
  EventStreamRouteError,
} from "./http/errors.js";
export { NotOpencodeError, UnsupportedServerError, type ServerInfo, type ServerHealth } from "./http/server-version.js";
export { SubscriberOverflowError, STREAM_GAP } from "./events/index.js";
export type {
  EventHub,
  EventSubscription,
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
export { mapEvent, initialTurnState } from "./turn/map-event.js";
export type { TurnState, MapResult } from "./turn/map-event.js";
export type {
  Reply,
  TerminalReply,
  DeltaReply,
  ReasoningReply,
  ToolCallReply,
  ToolResultReply,
  PermissionReply,
  PermissionRepliedReply,
  PermissionPolicyReply,
  AnsweredBy,
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
  StoppedAfterToolCallsError,
  PromptRejectedError,
  UnknownAgentError,
  UnreadableFileError,
} from "./turn/errors.js";
export type { RawProviderError } from "./turn/errors.js";
export type { Turn, PromptOptions, PartInput, TurnTiming, TurnOptions } from "./turn/turn.js";
export type { SubagentDetail } from "./turn/map-event.js";
export { LONG_CALL_TIMEOUT_MS, type SessionInfo, type PermissionResponse, type StoredMessage } from "./session/session.js";
export {
  type Session,
  type Sessions,
  SessionView,
  SessionsView,
  type SessionSnapshot,
  type SessionsSnapshot,
  type SessionEntry,
  type WatchOptions,
  type WatchAllOptions,
  type PendingRequest,
  type SessionStatus,
  type Todo,
  type ViewUsage,
} from "./views/index.js";
export { toUIMessages, type OpencodeUIMessage, type OpencodeUIPart, type ToUIMessagesOptions } from "./ui/ui-messages.js";
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
  UI_MESSAGE_STREAM_HEADERS,
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
export { TurnReplays, ReplayGapError, type TurnReplay, type ReplayOptions, type ReplayFrame } from "./ui/replay.js";
export {
  toWireReply,
  toWireError,
  browserSafeMessage,
  frameId,
  parseFrameId,
  type WireOptions,
  type ToolReply,
  type WireReply,
  type WireError,
  type FramePosition,
  type TextCursor,
} from "./browser/wire.js";
export type { paths, components, operations } from "../generated/opencode.js";
