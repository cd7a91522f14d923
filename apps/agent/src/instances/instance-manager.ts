import type { InstanceSpec, InstanceStatus } from '@hostplane/protocol';
import { DriverError } from '../errors/agent-error';
import type {
  CreateContext,
  DriverName,
  InstanceDriver,
  InstanceSummary,
  StateListener,
  UpdateContext,
} from './instance-driver';
import { InstanceStore } from './instance-store';

/**
 * Routes every instance operation to the driver named in the instance's spec (saved at create),
 * so jobs after `instance.create` carry only the instance id.
 */
export class InstanceManager {
  private readonly drivers = new Map<DriverName, InstanceDriver>();

  constructor(
    readonly store: InstanceStore,
    drivers: readonly InstanceDriver[],
  ) {
    for (const d of drivers) this.drivers.set(d.name, d);
  }

  onState(listener: StateListener): void {
    for (const d of this.drivers.values()) d.onState(listener);
  }

  async create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus> {
    if (this.store.exists(spec.instance_id)) {
      const saved = this.store.readSpec(spec.instance_id);
      if (saved.driver !== spec.driver)
        throw new DriverError(
          'invalid_spec',
          `instance ${spec.instance_id} already exists with the ${saved.driver} driver; delete it before recreating it with ${spec.driver}`,
        );
    }
    return (await this.usable(spec.driver)).create(spec, ctx);
  }

  async update(spec: InstanceSpec, ctx?: UpdateContext): Promise<InstanceStatus> {
    const driver = await this.driverOf(spec.instance_id);
    if (driver.name !== spec.driver)
      throw new DriverError(
        'invalid_spec',
        `instance ${spec.instance_id} runs on the ${driver.name} driver; its driver cannot change`,
      );
    return driver.update(spec, ctx);
  }

  /** The driver of an existing instance; `instance_not_found` when the host has no such instance. */
  async driverOf(id: string): Promise<InstanceDriver> {
    return this.usable(this.store.readSpec(id).driver);
  }

  /** Whether the host has the instance (without asking its driver). */
  has(id: string): boolean {
    return this.store.exists(id);
  }

  /** Every instance on the host, for hello and reconciliation (an unavailable driver's at their last known state). */
  async list(): Promise<InstanceSummary[]> {
    const out: InstanceSummary[] = [];
    for (const d of this.drivers.values()) {
      if ((await d.available()) === null) out.push(...(await d.list()));
      else out.push(...this.lastKnown(d.name));
    }
    return out;
  }

  /**
   * Instances of a driver that is unavailable now (engine down): their last recorded state, so the hub does not take
   * them for deleted.
   */
  private lastKnown(name: DriverName): InstanceSummary[] {
    return this.store
      .specsOf(name)
      .map((spec) => ({ instance_id: spec.instance_id, state: this.store.readState(spec.instance_id).state }));
  }

  async close(): Promise<void> {
    for (const d of this.drivers.values()) await d.close();
  }

  private async usable(name: DriverName): Promise<InstanceDriver> {
    const driver = this.drivers.get(name);
    if (!driver) throw new DriverError('driver_unavailable', `this agent has no ${name} driver`);
    const problem = await driver.available();
    if (problem !== null)
      throw new DriverError('driver_unavailable', `the ${name} driver is not available on this host: ${problem}`);
    return driver;
  }
}
