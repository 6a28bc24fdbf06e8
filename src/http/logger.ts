// The logger the SDK reports to: skipped frames, reconnects, retries, insecure-auth warnings.
// Every level is optional so `{ warn: console.warn }` is a valid logger.

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug?(message: string, fields?: LogFields): void;
  info?(message: string, fields?: LogFields): void;
  warn?(message: string, fields?: LogFields): void;
  error?(message: string, fields?: LogFields): void;
}

const prefix = "[opencode-serve-client]";

/** Library default: stay quiet except for warnings and errors. */
export const defaultLogger: Logger = {
  warn: (message, fields) => console.warn(prefix, message, ...(fields ? [fields] : [])),
  error: (message, fields) => console.error(prefix, message, ...(fields ? [fields] : [])),
};
