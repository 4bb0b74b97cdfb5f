/**
 * Drivers: people an owner lists to drive their vehicles. A driver belongs to
 * one owner; one owner cannot list the same phone twice. The phone is PII:
 * only the owner (and, through `vehicles.driverContact`, the services that
 * text the driver) ever get it, and it is never logged.
 */
import { duplicate, forbidden, notFound, DuplicateKeyError } from "../../../lib/errors";
import { newId } from "../../../lib/ids";
import type { Collection, Database } from "../../../lib/store";
import type { AuthUser } from "../../../lib/auth-types";
import type { DriverRecord } from "./model";
import { pageOf, type Page, type PageQuery } from "./paging";

export class Drivers {
  readonly drivers: Collection<DriverRecord>;

  constructor(db: Database) {
    this.drivers = db.collection<DriverRecord>("drivers", [
      { fields: { ownerId: 1 } },
      { fields: { ownerId: 1, phone: 1 }, unique: true, name: "owner_phone" },
    ]);
  }

  async create(ownerId: string, input: { name: string; phone: string }): Promise<DriverRecord> {
    const now = new Date().toISOString();
    const record: DriverRecord = { _id: newId(), ownerId, name: input.name, phone: input.phone, createdAt: now, updatedAt: now };
    try {
      return await this.drivers.insert(record);
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw duplicate("You already listed a driver with this phone", { field: "phone" });
      throw err;
    }
  }

  /** The driver, when `user` is its owner (or an admin). */
  async getOwned(user: AuthUser, driverId: string): Promise<DriverRecord> {
    const d = await this.get(driverId);
    if (d.ownerId !== user.id && !user.roles.includes("admin")) throw forbidden("This driver belongs to another owner");
    return d;
  }

  async get(driverId: string): Promise<DriverRecord> {
    const d = await this.drivers.findById(driverId);
    if (!d) throw notFound("The driver");
    return d;
  }

  list(ownerId: string, page: PageQuery): Promise<Page<DriverRecord>> {
    return pageOf(this.drivers, { ownerId }, page);
  }
}
