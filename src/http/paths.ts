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

/** A request function typed over the generated `paths`: the SDK's own calls go through one. */
export type TypedRequest = <M extends HttpMethod, P extends PathsWithMethod<M>>(
  method: M,
  path: P,
  ...[init]: InitArgs<M, P>
) => Promise<ResponseData<M, P>>;
