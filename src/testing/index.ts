// `opencode-serve-client/testing`: test an app built on this SDK against a real `opencode serve`
// with a scripted model — no API key, no network. Node only.

export { startTestServer, type TestServer, type TestServerOptions } from "./test-server.js";
export {
  directive,
  MODEL_ID,
  PROVIDER_ID,
  SHAPES,
  startModelServer,
  SUMMARY_TEXT,
  type ModelServer,
  type ModelServerOptions,
  type ProviderErrorSpec,
  type RecordedRequest,
  type Script,
  type ScriptStep,
  type StreamErrorSpec,
  type ToolCallSpec,
  type UsageSpec,
  type WireShape,
} from "./model-server.js";
export { readEvents, recordEvents, replayEvents, type EventRecording, type EventReplay, type RecordTarget, type ReplayOptions } from "./event-stream.js";
