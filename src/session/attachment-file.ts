// `file(path)`: a prompt attachment read from the local disk (Node only, so it is exported from the
// Node entry and never reaches a browser bundle). The size cap is checked before reading.

import { open } from "node:fs/promises";
import { basename } from "node:path";
import { ConfigurationError } from "../http/errors.js";
import { AttachmentTooLargeError, bytes, DEFAULT_MAX_ATTACHMENT_BYTES, type AttachmentOptions, type FilePartInput } from "./attachments.js";

/** Reads a local file into a file part (inline, so the server need not see the path). */
export async function file(path: string, options: AttachmentOptions = {}): Promise<FilePartInput> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  const filename = options.filename ?? basename(path);
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new ConfigurationError(`cannot read attachment ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new AttachmentTooLargeError(filename, size, maxBytes);
    return bytes(await handle.readFile(), { ...options, filename, maxBytes });
  } finally {
    await handle.close();
  }
}
