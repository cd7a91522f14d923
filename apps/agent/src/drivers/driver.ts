// The driver interface lives with the instances it runs (instances/instance-driver.ts), so that
// folder never imports a driver; this module keeps the path drivers were written against.
export type {
  ConsoleHandle,
  CreateContext,
  DriverName,
  InstanceDriver,
  InstanceSummary,
  LogFollower,
  RegistryCredentials,
  StateListener,
  UpdateContext,
} from '../instances/instance-driver';
export { DriverError } from '../errors/agent-error';
