// Attachment parts: mime sniffed from the first bytes, then the name, else text; text goes as
// text/plain; the size cap; url() names and types what the server fetches.
import { describe, expect, it } from "vitest";
import { AttachmentTooLargeError, bytes, inputKind, sniffMime, url } from "../../src/session/attachments.js";

describe("attachments", () => {
  it("sniffs images and PDFs from their first bytes, whatever the name says", () => {
    expect(sniffMime(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d]), "x.txt")).toBe("image/png");
    expect(sniffMime(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("image/jpeg");
    expect(sniffMime(new TextEncoder().encode("%PDF-1.7"))).toBe("application/pdf");
    expect(sniffMime(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 "))).toBe("image/webp");
    expect(sniffMime(new TextEncoder().encode("# notes"), "notes.md")).toBe("text/markdown");
    expect(sniffMime(new TextEncoder().encode("plain words ✓"))).toBe("text/plain");
    expect(sniffMime(Uint8Array.from([0xc3, 0x28, 0x00]))).toBe("application/octet-stream");
  });

  it("inline text of any text type goes as text/plain, which every server gives the model as the user's text", () => {
    const part = bytes(new TextEncoder().encode('{"a":1}'), { filename: "a.json" });
    expect(part).toEqual({ type: "file", mime: "text/plain", filename: "a.json", url: `data:text/plain;base64,${btoa('{"a":1}')}` });
    expect(bytes(new TextEncoder().encode("<svg/>"), { mime: "image/svg+xml" }).mime).toBe("image/svg+xml");
  });

  it("base64 of a large binary is exact (chunked, no stack overflow)", () => {
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    data.set([0x89, 0x50, 0x4e, 0x47]);
    const part = bytes(data);
    expect(part.mime).toBe("image/png");
    expect(Buffer.from(part.url.slice("data:image/png;base64,".length), "base64").equals(Buffer.from(data))).toBe(true);
  });

  it("over the cap is AttachmentTooLargeError with the sizes; the cap is configurable", () => {
    expect(() => bytes(new Uint8Array(11), { maxBytes: 10, filename: "f.bin" })).toThrow(AttachmentTooLargeError);
    expect(() => bytes(new Uint8Array(11), { maxBytes: 10, filename: "f.bin" })).toThrow(/f\.bin.*11 bytes.*10-byte cap/);
    expect(bytes(new Uint8Array(11), { maxBytes: 11 }).type).toBe("file");
  });

  it("url() takes its name and type from the path, and survives a malformed escape", () => {
    expect(url("https://example.com/docs/spec.pdf?x=1")).toEqual({ type: "file", mime: "application/pdf", filename: "spec.pdf", url: "https://example.com/docs/spec.pdf?x=1" });
    expect(url("file:///tmp/a%20b.png")).toMatchObject({ mime: "image/png", filename: "a b.png" });
    expect(url("https://example.com/%E0%A4%A.txt").filename).toBe("%E0%A4%A.txt");
    expect(url("https://example.com/blob").mime).toBe("application/octet-stream");
  });

  it("says which model input an attachment needs", () => {
    expect([inputKind("image/png"), inputKind("application/pdf"), inputKind("audio/wav"), inputKind("text/plain"), inputKind("image/svg+xml")]).toEqual(["image", "pdf", "audio", undefined, undefined]);
  });
});
