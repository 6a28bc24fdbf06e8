// Type-level view of the generated `paths`: which paths accept a method, what params and body
// an operation takes (required exactly when the spec requires them), and what it returns.

import type { paths } from "../../generated/opencode.js";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** Paths that define `method` (absent methods are `?: never` in the generated types). */
export type PathsWithMethod<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends Record<M, object> ? P : never;
}[keyof paths];

export type Operation<M extends HttpMethod, P extends PathsWithMethod<M>> = paths[P][M];

type Params<Op> = Op extends { parameters: infer X } ? X : {};

type IsNever<T> = [T] extends [never] ? true : false;
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/** `{ key: T }` when required, `{ key?: T }` when optional, `{}` when the spec has no such thing. */
type Slot<Key extends string, T, Required extends boolean> =
  IsNever<Exclude<T, undefined>> extends true
    ? {}
    : Required extends true
      ? { [K in Key]: Exclude<T, undefined> }
      : { [K in Key]?: Exclude<T, undefined> };

type ParamSlot<Op, Key extends "path" | "query"> =
  Key extends keyof Params<Op>
    ? Slot<Key, Params<Op>[Key], Key extends RequiredKeys<Params<Op>> ? true : false>
    : {};

type JsonContent<T> = T extends { content: { "application/json": infer B } } ? B : never;
type BodyOf<Op> = Op extends { requestBody?: infer RB } ? JsonContent<Exclude<RB, undefined>> : never;
type BodySlot<Op> =
  Op extends { requestBody: object } ? Slot<"body", BodyOf<Op>, true> : Slot<"body", BodyOf<Op>, false>;

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout for this call. */
  timeoutMs?: number;
  /** Overrides the client's maxRetries for this call. */
  maxRetries?: number;
  /**
   * Retry this call although its method is not idempotent. Only for calls that are safe to repeat,
   * e.g. `prompt_async` with a client-chosen `messageID`.
   */
  idempotent?: boolean;
  headers?: Record<string, string>;
  /** Overrides the client's `maxResponseBytes` for this call. */
  maxResponseBytes?: number;
  /** Called with the successful response's headers (lower-case names), e.g. to read a paging cursor. */
  onHeaders?: (headers: Readonly<Record<string, string | undefined>>) => void;
}

export type RequestInit<M extends HttpMethod, P extends PathsWithMethod<M>> = ParamSlot<Operation<M, P>, "path"> &
  ParamSlot<Operation<M, P>, "query"> &
  BodySlot<Operation<M, P>> &
  RequestOptions;

type Responses<Op> = Op extends { responses: infer R } ? R : never;
type SuccessCodes = 200 | 201 | 202 | 203 | 204 | 206;
type SuccessBody<R> = {
  [C in keyof R & SuccessCodes]: R[C] extends { content: { "application/json": infer B } } ? B : undefined;
}[keyof R & SuccessCodes];

export type ResponseData<M extends HttpMethod, P extends PathsWithMethod<M>> = SuccessBody<Responses<Operation<M, P>>>;

/** Whether `init` may be omitted (nothing in it is required). */
export type InitArgs<M extends HttpMethod, P extends PathsWithMethod<M>> =
  {} extends RequestInit<M, P> ? [init?: RequestInit<M, P>] : [init: RequestInit<M, P>];

type IsEventStream<Op> = Op extends { responses: infer R }
  ? { [C in keyof R]: R[C] extends { content: { "text/event-stream": unknown } } ? true : never }[keyof R] extends never
    ? false
    : true
  : false;

/** Routes that answer `text/event-stream` (`/event`, `/global/event`, …): read with `client.events`, not `request()`. */
export type EventStreamPath = {
  [P in keyof paths]: { [M in HttpMethod]: IsEventStream<paths[P][M]> extends true ? P : never }[HttpMethod];
}[keyof paths];

/** The same list at run time, so `request()` refuses these routes at once even past the types (JS, casts). */
export const EVENT_STREAM_PATHS = ["/event", "/global/event", "/api/event", "/api/session/{sessionID}/event"] as const satisfies readonly EventStreamPath[];
// Fails to compile when the spec gains an event-stream route missing from the list above.
true satisfies EventStreamPath extends (typeof EVENT_STREAM_PATHS)[number] ? true : false;

export function isEventStreamPath(path: string): boolean {
  return (EVENT_STREAM_PATHS as readonly string[]).includes(path);
}

/** Paths `request()` takes for `method`: every operation of the spec except the event streams. */
export type RequestPath<M extends HttpMethod> = Exclude<PathsWithMethod<M>, EventStreamPath>;

/**
 * `InitArgs` for `request()`. When the path is not one of `RequestPath<M>`, TypeScript falls back
 * to the whole union for P; taking init as optional then keeps the error on the path argument
 * ("'/sesion' is not assignable to RequestPath<\"get\">") instead of a bare "Expected 3 arguments".
 */
export type RequestInitArgs<M extends HttpMethod, P extends RequestPath<M>> =
  RequestPath<M> extends P ? [init?: RequestOptions] : InitArgs<M, P>;

/** Per-call options of the one-line methods (`session.fork(…, { signal, timeoutMs })`), as in openai-node. */
export type CallOptions = Pick<RequestOptions, "signal" | "timeoutMs" | "maxRetries" | "headers" | "maxResponseBytes">;

/** A request function typed over the generated `paths`: the SDK's own calls go through one. */
export type TypedRequest = <M extends HttpMethod, P extends RequestPath<M>>(
  method: M,
  path: P,
  ...init: RequestInitArgs<M, P>
) => Promise<ResponseData<M, P>>;
