/** In-app notifications (the user's inbox) and push devices. */
import { DuplicateKeyError, notFound } from "../../../lib/errors";
import { newId, sha256 } from "../../../lib/ids";
import type { Collection, Database, Filter } from "../../../lib/store";

export interface InboxItem {
  _id: string;
  /** The delivery's idempotency key (unique): one item per key. */
  key: string;
  userId: string;
  kind: string;
  title: string;
  body: string;
  data: Record<string, string>;
  readAt?: string;
  createdAt: string;
}

export interface InboxView { id: string; kind: string; title: string; body: string; data: Record<string, string>; read: boolean; readAt: string | null; createdAt: string }

export type Platform = "ios" | "android" | "web";

export interface Device {
  _id: string; // sha256 of the token: one record per token, whatever its length
  pushToken: string;
  platform: Platform;
  userId: string;
  createdAt: string;
  updatedAt: string;
}

export const toInboxView = (i: InboxItem): InboxView => ({ id: i._id, kind: i.kind, title: i.title, body: i.body, data: i.data, read: Boolean(i.readAt), readAt: i.readAt ?? null, createdAt: i.createdAt });

export class Inbox {
  readonly items: Collection<InboxItem>;
  readonly devices: Collection<Device>;

  constructor(db: Database) {
    this.items = db.collection<InboxItem>("inbox", [{ fields: { key: 1 }, unique: true }, { fields: { userId: 1, _id: -1 } }]);
    this.devices = db.collection<Device>("devices", [{ fields: { userId: 1 } }]);
  }

  /** Idempotent by key. */
  async add(item: Omit<InboxItem, "_id" | "createdAt">): Promise<InboxItem> {
    const known = await this.items.findOne({ key: item.key });
    if (known) return known;
    try {
      return await this.items.insert({ _id: newId(), ...item, createdAt: new Date().toISOString() });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      const same = await this.items.findOne({ key: item.key });
      if (!same) throw err;
      return same;
    }
  }

  /** Newest first; the cursor is the last id seen. */
  async list(userId: string, q: { limit: number; cursor?: string; unread?: boolean }) {
    const filter: Filter = { userId };
    if (q.cursor) filter._id = { $lt: q.cursor };
    if (q.unread) filter.readAt = { $exists: false };
    const rows = await this.items.find(filter, { sort: { _id: -1 }, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    const unread = await this.items.count({ userId, readAt: { $exists: false } });
    return { items: items.map(toInboxView), nextCursor: rows.length > q.limit ? items[items.length - 1]._id : null, unread };
  }

  /** Marks the user's own notification read (once; reading again keeps the first time). */
  async markRead(userId: string, id: string): Promise<InboxItem> {
    const updated = await this.items.updateOne({ _id: id, userId, readAt: { $exists: false } }, { $set: { readAt: new Date().toISOString() } });
    if (updated) return updated;
    const item = await this.items.findOne({ _id: id, userId });
    if (!item) throw notFound("The notification");
    return item;
  }

  /** A token belongs to one user: registering it again moves it to the caller (a device changed hands). */
  async registerDevice(userId: string, pushToken: string, platform: Platform): Promise<Device> {
    const now = new Date().toISOString();
    const _id = sha256(pushToken);
    return this.devices.upsert({ _id }, { $set: { userId, platform, updatedAt: now } }, { _id, pushToken, platform, userId, createdAt: now, updatedAt: now });
  }

  devicesOf(userId: string): Promise<Device[]> {
    return this.devices.find({ userId }, { limit: 20, sort: { updatedAt: -1 } });
  }
}
