// Public entry point of opencode-serve-client (browser-safe: no child_process here).

export { createClient, OpencodeClient } from "./client.js";
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
export type { paths, components, operations } from "../generated/opencode.js";
