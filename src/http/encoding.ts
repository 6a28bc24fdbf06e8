// Text encodings the client needs on every runtime (no Node Buffer): base64 of bytes, and a
// percent-decoding that keeps what is not a valid escape.

/** Base64 of bytes, in chunks (one `String.fromCharCode` argument per byte would overflow the stack). */
export function base64(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** `decodeURIComponent`, but a hand-typed `%` that starts no escape is kept as it is. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
