import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UploadGuard, sniff } from "./uploads";
import { documentRules, DOCUMENT_TYPES } from "../services/kyc/domain/upload-guard";

const sniffContentType = (head: Buffer) => sniff(head, DOCUMENT_TYPES);

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]);
const PDF = Buffer.from("%PDF-1.7\n%\u00e2\u00e3\n", "latin1");

/** Runs `chunks` through a guard; what came out, or the error. */
async function run(chunks: Buffer[], max?: number) {
  const guard = new UploadGuard(documentRules(max));
  const out: Buffer[] = [];
  const sink = new Writable({ write(c, _e, done) { out.push(c); done(); } });
  try {
    await pipeline(Readable.from(chunks), guard, sink);
    return { type: await guard.detected, bytes: Buffer.concat(out), size: guard.size };
  } catch (err: any) {
    return { error: err.type as string, status: err.code as number };
  }
}

describe("document content sniffing", () => {
  it("when the bytes start with a JPEG, PNG or PDF signature, then that is the type", () => {
    expect(sniffContentType(JPEG)).toBe("image/jpeg");
    expect(sniffContentType(PNG)).toBe("image/png");
    expect(sniffContentType(PDF)).toBe("application/pdf");
  });

  it("when the bytes are a Windows program, text or a GIF, then no type is accepted", () => {
    expect(sniffContentType(Buffer.from("MZ\x90\x00\x03\x00\x00\x00", "latin1"))).toBeNull();
    expect(sniffContentType(Buffer.from("hello, I am a .jpg"))).toBeNull();
    expect(sniffContentType(Buffer.from("GIF89a\x01\x00", "latin1"))).toBeNull();
    expect(sniffContentType(Buffer.from([0xff, 0xd8]))).toBeNull();
  });
});

describe("UploadGuard", () => {
  it("when a JPEG arrives one byte at a time, then every byte passes through unchanged", async () => {
    const body = Buffer.concat([JPEG, Buffer.alloc(5000, 1)]);
    const r = await run([...body].map((b) => Buffer.from([b])));
    expect(r.type).toBe("image/jpeg");
    expect(r.bytes!.equals(body)).toBe(true);
    expect(r.size).toBe(body.length);
  });

  it("when a PDF is shorter than the longest signature, then it is still recognised", async () => {
    const r = await run([Buffer.from("%PDF-")]);
    expect(r.type).toBe("application/pdf");
  });

  it("when the content is not an accepted type, then it fails with 415", async () => {
    expect(await run([Buffer.from("MZ this is an exe")])).toEqual({ error: "UNSUPPORTED_MEDIA_TYPE", status: 415 });
  });

  it("when the file is empty, then it fails with 400", async () => {
    expect(await run([])).toEqual({ error: "BAD_REQUEST", status: 400 });
  });

  it("when more than the limit streams past, then it fails with 413; exactly the limit passes", async () => {
    expect(await run([PNG, Buffer.alloc(91)], 100)).toEqual({ error: "PAYLOAD_TOO_LARGE", status: 413 });
    expect((await run([PNG, Buffer.alloc(90)], 100)).size).toBe(100);
  });
});
