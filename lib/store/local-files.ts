/** Files on local disk: `<dir>/<id>` plus `<id>.json` with what we know of it. */
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { newId } from "../ids";
import type { FileInfo, FileStore } from "./types";

const ID = /^[0-9a-f]{24}$/;

export class LocalFileStore implements FileStore {
  constructor(private readonly dir: string) {}

  async put(content: NodeJS.ReadableStream | Buffer, meta: { contentType: string; filename: string; metadata?: Record<string, unknown> }): Promise<FileInfo> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const id = newId();
    const tmp = path.join(this.dir, `.${id}.part`);
    const source = Buffer.isBuffer(content) ? Readable.from([content]) : (content as NodeJS.ReadableStream);
    try {
      await pipeline(source, fs.createWriteStream(tmp));
      const { size } = await fs.promises.stat(tmp);
      const info: FileInfo = { id, size, contentType: meta.contentType, filename: meta.filename, createdAt: new Date().toISOString(), metadata: meta.metadata };
      await fs.promises.writeFile(path.join(this.dir, `${id}.json`), JSON.stringify(info));
      await fs.promises.rename(tmp, path.join(this.dir, id));
      return info;
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  async get(id: string) {
    if (!ID.test(id)) return null;
    try {
      const info = JSON.parse(await fs.promises.readFile(path.join(this.dir, `${id}.json`), "utf8")) as FileInfo;
      await fs.promises.access(path.join(this.dir, id));
      return { info, stream: fs.createReadStream(path.join(this.dir, id)) };
    } catch {
      return null;
    }
  }

  async delete(id: string) {
    if (!ID.test(id)) return false;
    const existed = await fs.promises.rm(path.join(this.dir, id)).then(() => true, () => false);
    await fs.promises.rm(path.join(this.dir, `${id}.json`), { force: true });
    return existed;
  }
}
