import { Identity1764576000000 } from './migrations/1764576000000-identity';
import { NodesAndOperations1796200000000 } from './migrations/1796200000000-nodes-and-operations';
import { Workloads1796210000000 } from './migrations/1796210000000-workloads';
import { Instances1796220000000 } from './migrations/1796220000000-instances';

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS: Function[] = [Identity1764576000000, NodesAndOperations1796200000000, Workloads1796210000000, Instances1796220000000];
