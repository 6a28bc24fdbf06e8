// Prompt attachments: `bytes(data, { mime, filename })` and `url(href)` build the file parts a
// prompt sends (images, PDFs, text), with a size cap and a mime sniffed from the first bytes when
// none is given. Browser-safe; reading a path is `file()` in the Node entry (attachment-file.ts).

import { base64, safeDecode } from "../http/encoding.js";
import { OpencodeError } from "../http/errors.js";
import type { PartInput } from "../turn/prompt-body.js";

/** A prompt's file part. */
export type FilePartInput = Extract<PartInput, { type: "file" }>;

/** The default size cap of an attachment: 10 MiB (providers refuse much larger images and PDFs). */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

export interface AttachmentOptions {
  /** The attachment's media type; sniffed from its first bytes (then its name) when omitted. */
  mime?: string;
  filename?: string;
  /** Larger attachments are refused with `AttachmentTooLargeError`; default 10 MiB. */
  maxBytes?: number;
}

/** An attachment is larger than its size cap. */
export class AttachmentTooLargeError extends OpencodeError {
  override readonly name = "AttachmentTooLargeError" as const;
  readonly retryable = false;
  constructor(
    readonly filename: string | undefined,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`attachment ${filename ? JSON.stringify(filename) + " " : ""}is ${size} bytes, over the ${maxBytes}-byte cap (raise it with the maxBytes option)`);
  }
}

/**
 * The prompt's model cannot take an attachment of this kind (`GET /provider` says which inputs a
 * model accepts); the server would drop it silently.
 */
export class UnsupportedAttachmentError extends OpencodeError {
  override readonly name = "UnsupportedAttachmentError" as const;
  readonly retryable = false;
  constructor(
    readonly mime: string,
    /** The input kind it needs: "image", "pdf", "audio" or "video". */
    readonly input: string,
    /** `"provider/model"`. */
    readonly model: string,
    readonly filename?: string,
  ) {
    super(`model ${model} does not accept ${input} input (${mime}${filename ? `, ${JSON.stringify(filename)}` : ""})`);
  }
}

/** A file part holding `data` inline (a base64 `data:` URL). Text files reach the model as the user's text. */
export function bytes(data: Uint8Array | ArrayBuffer, options: AttachmentOptions = {}): FilePartInput {
  const view = data instanceof Uint8Array ? data : new Uint8Array(data);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  if (view.byteLength > maxBytes) throw new AttachmentTooLargeError(options.filename, view.byteLength, maxBytes);
  const mime = asText(options.mime ?? sniffMime(view, options.filename));
  return {
    type: "file",
    mime,
    ...(options.filename !== undefined ? { filename: options.filename } : {}),
    url: `data:${mime};base64,${base64(view)}`,
  };
}

/**
 * A file part the server fetches or reads itself: `https:`, `data:`, or `file://` (a path on the
 * server's machine; one it cannot read ends the turn with `UnreadableFileError`).
 */
export function url(href: string, options: Omit<AttachmentOptions, "maxBytes"> = {}): FilePartInput {
  const filename = options.filename ?? lastSegment(href);
  return {
    type: "file",
    mime: options.mime ?? (filename === undefined ? undefined : mimeFromName(filename)) ?? "application/octet-stream",
    ...(filename ? { filename } : {}),
    url: href,
  };
}

/** The model input an attachment of this media type needs, or undefined for text (every model reads it). */
export function inputKind(mime: string): "image" | "pdf" | "audio" | "video" | undefined {
  if (mime === "application/pdf") return "pdf";
  const top = mime.split("/")[0];
  // The server turns SVG into text for the model.
  if (top === "image" && mime !== "image/svg+xml") return "image";
  if (top === "audio" || top === "video") return top;
  return undefined;
}

/**
 * Text sent inline goes as `text/plain`: that is what every server turns into the user's text
 * (servers before 1.14 pass other text types on to the provider, which refuses them).
 */
function asText(mime: string): string {
  const textual = mime.startsWith("text/") || mime === "application/json" || mime === "application/xml" || mime.endsWith("+json") || mime.endsWith("+xml");
  return textual && mime !== "image/svg+xml" ? "text/plain" : mime;
}

const SIGNATURES: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], "image/png"],
  [[0xff, 0xd8, 0xff], "image/jpeg"],
  [[0x47, 0x49, 0x46, 0x38], "image/gif"],
  [[0x25, 0x50, 0x44, 0x46], "application/pdf"],
];

/** The media type from the first bytes, else from the name, else text when it decodes as UTF-8. */
export function sniffMime(data: Uint8Array, filename?: string): string {
  for (const [signature, mime] of SIGNATURES) if (signature.every((b, i) => data[i] === b)) return mime;
  // RIFF....WEBP
  if (data[0] === 0x52 && data[1] === 0x49 && data[2] === 0x46 && data[3] === 0x46 && String.fromCharCode(...data.subarray(8, 12)) === "WEBP") return "image/webp";
  const named = filename === undefined ? undefined : mimeFromName(filename);
  if (named) return named;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(0, 64 * 1024));
    return "text/plain";
  } catch {
    return "application/octet-stream";
  }
}

const BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  json: "application/json",
  csv: "text/csv",
  html: "text/html",
};

function mimeFromName(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

function lastSegment(href: string): string | undefined {
  if (href.startsWith("data:")) return undefined;
  const path = href.split(/[?#]/)[0]!;
  const segment = path.slice(path.lastIndexOf("/") + 1);
  if (!segment) return undefined;
  return safeDecode(segment);
}
