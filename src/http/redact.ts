// The one scrubber for everything the SDK puts into an error, a log line or the browser wire: a
// server or proxy may echo the Authorization header, the password or a credential URL back in a
// body, and that text must not travel on. Known secrets (the configured password, the basic-auth
// pair and its base64) are cut wherever they stand; credential shapes are cut by pattern.

export const REDACTED = "[REDACTED]";

/** Query parameters whose values are credentials. */
export const SECRET_QUERY_KEY = /^(?:key|api[_-]?key|apikey|token|auth[_-]?token|access[_-]?token|refresh[_-]?token|password|secret|client[_-]?secret|sig|signature)$/i;

/** Header names whose whole value is a credential. */
export const SECRET_HEADER = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$/i;

const PATTERNS: readonly [RegExp, string][] = [
  // `Authorization: Basic …` / `Bearer …` echoed in any form.
  [/\b(Basic|Bearer|Token)(\s+)[A-Za-z0-9._~+/=-]{4,}/g, `$1$2${REDACTED}`],
  // `user:pass@` in any URL.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]*@/gi, `$1${REDACTED}@`],
  // `?key=…`, `&token=…`, `"api_key=…"`.
  [
    /\b(key|api[_-]?key|apikey|token|auth[_-]?token|access[_-]?token|refresh[_-]?token|password|secret|client[_-]?secret|sig|signature)=[^&\s"'<>#]+/gi,
    `$1=${REDACTED}`,
  ],
];

/** Secrets shorter than this are not cut by value (a one-letter password would mask every such letter); patterns still apply. */
const MIN_SECRET_LENGTH = 4;

export type Redactor = (text: string) => string;

/** The scrubber for one client: its own secrets by value, then every credential pattern. */
export function redactor(secrets: readonly (string | undefined)[] = []): Redactor {
  const values = [
    ...new Set(
      secrets
        .filter((secret): secret is string => secret !== undefined && secret.length >= MIN_SECRET_LENGTH)
        .flatMap((secret) => [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]),
    ),
  ].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** The scrubber with patterns only, for places that do not know the client's secrets (the browser wire). */
export const redactPatterns: Redactor = redactor();

/** A JSON value with every string scrubbed (depth-bounded: it only ever holds an error body). */
export function redactValue(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_HEADER.test(key) && typeof item === "string" ? REDACTED : redactValue(item, redact, depth + 1);
  }
  return out;
}

/** Response headers fit to keep on an error: credential headers dropped to a marker, the rest scrubbed. */
export function redactHeaders(headers: Record<string, string>, redact: Redactor): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADER.test(name) ? REDACTED : redact(value);
  return out;
}

const BUILT_IN_ERRORS = [SyntaxError, TypeError, RangeError];

/**
 * A cause fit to keep on an error: a foreign error (a JSON SyntaxError quoting the body, a socket
 * error) becomes a plain Error with its name, code and scrubbed message, so `err.cause` and
 * `inspect(err)` cannot carry what the message may not.
 */
export function redactCause(cause: unknown, redact: Redactor, depth = 0): unknown {
  if (!(cause instanceof Error) || depth > 4) return cause;
  const { code } = cause as { code?: unknown };
  // A built-in class is kept (`cause instanceof SyntaxError` still holds); anything else becomes an Error.
  const Kind = BUILT_IN_ERRORS.find((kind) => cause.constructor === kind) ?? Error;
  const copy = new Kind(redact(cause.message), cause.cause === undefined ? undefined : { cause: redactCause(cause.cause, redact, depth + 1) });
  copy.name = cause.name;
  copy.stack = `${cause.name}: ${copy.message}`;
  if (typeof code === "string") Object.assign(copy, { code });
  return copy;
}
