import { HOST_OPERATION_SPECS } from '@hostplane/protocol';
import type { HostOperation } from '../host-operations';
import {
  kstatNumbers,
  parseKstat,
  parsePkgInfo,
  parsePkgList,
  parseSvcs,
  parseSwapList,
  parseSwapSummary,
  parseVmstat,
} from '../parsers/system';
import {
  parseZfsGet,
  parseZfsList,
  parseZpoolList,
  parseZpoolStatus,
  ZFS_LIST_COLUMNS,
  ZPOOL_LIST_COLUMNS,
} from '../parsers/zfs';

const LIST = ZFS_LIST_COLUMNS.join(',');
const done = (what: Record<string, unknown>) => ({ ok: true, ...what });
const propArgs = (props: Record<string, string> | undefined) =>
  Object.entries(props ?? {}).flatMap(([k, v]) => ['-o', `${k}=${v}`]);

export const STORAGE_OPERATIONS: Record<string, HostOperation> = {
  'storage.datasets.list': {
    ...HOST_OPERATION_SPECS['storage.datasets.list'],
    run: async (x, p) =>
      parseZfsList(
        await x.stdout([
          'zfs',
          'list',
          '-H',
          '-p',
          '-t',
          'filesystem,volume',
          '-o',
          LIST,
          ...(p.root ? ['-r', p.root] : []),
        ]),
      ),
  },
  'storage.datasets.get': {
    ...HOST_OPERATION_SPECS['storage.datasets.get'],
    run: async (x, p) => parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-o', LIST, p.dataset]))[0],
  },
  'storage.datasets.create': {
    ...HOST_OPERATION_SPECS['storage.datasets.create'],
    run: async (x, p) => {
      await x.run([
        'zfs',
        'create',
        ...(p.volume_size ? ['-V', p.volume_size] : []),
        ...propArgs(p.properties),
        p.dataset,
      ]);
      return parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-o', LIST, p.dataset]))[0];
    },
  },
  'storage.datasets.delete': {
    ...HOST_OPERATION_SPECS['storage.datasets.delete'],
    run: async (x, p) =>
      done({ dataset: p.dataset, ...(await x.run(['zfs', 'destroy', ...(p.recursive ? ['-r'] : []), p.dataset]), {}) }),
  },
  'storage.datasets.properties.get': {
    ...HOST_OPERATION_SPECS['storage.datasets.properties.get'],
    run: async (x, p) =>
      parseZfsGet(
        await x.stdout([
          'zfs',
          'get',
          '-H',
          '-p',
          '-o',
          'name,property,value,source',
          p.names ? (p.names as string[]).join(',') : 'all',
          p.dataset,
        ]),
      ),
  },
  'storage.datasets.properties.set': {
    ...HOST_OPERATION_SPECS['storage.datasets.properties.set'],
    run: async (x, p) => {
      await x.run([
        'zfs',
        'set',
        ...Object.entries(p.properties as Record<string, string>).map(([k, v]) => `${k}=${v}`),
        p.dataset,
      ]);
      return parseZfsGet(
        await x.stdout([
          'zfs',
          'get',
          '-H',
          '-p',
          '-o',
          'name,property,value,source',
          Object.keys(p.properties as object).join(','),
          p.dataset,
        ]),
      );
    },
  },
  'storage.datasets.rename': {
    ...HOST_OPERATION_SPECS['storage.datasets.rename'],
    run: async (x, p) => done({ dataset: p.to, ...(await x.run(['zfs', 'rename', p.dataset, p.to]), {}) }),
  },
  'storage.datasets.clone': {
    ...HOST_OPERATION_SPECS['storage.datasets.clone'],
    run: async (x, p) =>
      done({ dataset: p.to, ...(await x.run(['zfs', 'clone', ...propArgs(p.properties), p.snapshot, p.to]), {}) }),
  },
  'storage.datasets.promote': {
    ...HOST_OPERATION_SPECS['storage.datasets.promote'],
    run: async (x, p) => done({ dataset: p.dataset, ...(await x.run(['zfs', 'promote', p.dataset]), {}) }),
  },
  'storage.snapshots.list': {
    ...HOST_OPERATION_SPECS['storage.snapshots.list'],
    run: async (x, p) =>
      parseZfsList(
        await x.stdout([
          'zfs',
          'list',
          '-H',
          '-p',
          '-t',
          'snapshot',
          '-o',
          LIST,
          ...(p.dataset ? ['-r', p.dataset] : []),
        ]),
      ),
  },
  'storage.snapshots.create': {
    ...HOST_OPERATION_SPECS['storage.snapshots.create'],
    run: async (x, p) =>
      done({
        snapshot: `${p.dataset}@${p.name}`,
        ...(await x.run(['zfs', 'snapshot', ...(p.recursive ? ['-r'] : []), `${p.dataset}@${p.name}`]), {}),
      }),
  },
  'storage.snapshots.delete': {
    ...HOST_OPERATION_SPECS['storage.snapshots.delete'],
    run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'destroy', p.snapshot]), {}) }),
  },
  'storage.snapshots.rollback': {
    ...HOST_OPERATION_SPECS['storage.snapshots.rollback'],
    run: async (x, p) =>
      done({
        snapshot: p.snapshot,
        ...(await x.run(['zfs', 'rollback', ...(p.destroy_newer ? ['-r'] : []), p.snapshot]), {}),
      }),
  },
  'storage.snapshots.holds': {
    ...HOST_OPERATION_SPECS['storage.snapshots.holds'],
    run: async (x, p) =>
      (await x.stdout(['zfs', 'holds', '-H', p.snapshot]))
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ snapshot: l.split('\t')[0], tag: l.split('\t')[1], since: l.split('\t')[2] })),
  },
  'storage.snapshots.hold': {
    ...HOST_OPERATION_SPECS['storage.snapshots.hold'],
    run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'hold', p.tag, p.snapshot]), {}) }),
  },
  'storage.snapshots.release': {
    ...HOST_OPERATION_SPECS['storage.snapshots.release'],
    run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'release', p.tag, p.snapshot]), {}) }),
  },
  'storage.pools.list': {
    ...HOST_OPERATION_SPECS['storage.pools.list'],
    run: async (x) => parseZpoolList(await x.stdout(['zpool', 'list', '-H', '-p', '-o', ZPOOL_LIST_COLUMNS.join(',')])),
  },
  'storage.pools.status': {
    ...HOST_OPERATION_SPECS['storage.pools.status'],
    run: async (x, p) => parseZpoolStatus(await x.stdout(['zpool', 'status', p.pool]))[0],
  },
  'storage.pools.properties': {
    ...HOST_OPERATION_SPECS['storage.pools.properties'],
    run: async (x, p) =>
      parseZfsGet(await x.stdout(['zpool', 'get', '-H', '-p', '-o', 'name,property,value,source', 'all', p.pool])),
  },
  'storage.pools.scrub': {
    ...HOST_OPERATION_SPECS['storage.pools.scrub'],
    run: async (x, p) =>
      done({ pool: p.pool, ...(await x.run(['zpool', 'scrub', ...(p.stop ? ['-s'] : []), p.pool]), {}) }),
  },
  'storage.pools.iostat': {
    ...HOST_OPERATION_SPECS['storage.pools.iostat'],
    run: async (x, p) => {
      const [name, alloc, free, rops, wops, rbytes, wbytes] = (await x.stdout(['zpool', 'iostat', '-H', '-p', p.pool]))
        .trim()
        .split('\t');
      return {
        pool: name,
        allocated: Number(alloc),
        free: Number(free),
        read_ops: Number(rops),
        write_ops: Number(wops),
        read_bytes: Number(rbytes),
        write_bytes: Number(wbytes),
      };
    },
  },
  'storage.swap.list': {
    ...HOST_OPERATION_SPECS['storage.swap.list'],
    run: async (x) => parseSwapList(await x.stdout(['swap', '-l'])),
  },
  'storage.swap.summary': {
    ...HOST_OPERATION_SPECS['storage.swap.summary'],
    run: async (x) => parseSwapSummary(await x.stdout(['swap', '-s'])),
  },
  'storage.swap.add': {
    ...HOST_OPERATION_SPECS['storage.swap.add'],
    run: async (x, p) =>
      done({ device: `/dev/zvol/dsk/${p.volume}`, ...(await x.run(['swap', '-a', `/dev/zvol/dsk/${p.volume}`]), {}) }),
  },
  'storage.swap.remove': {
    ...HOST_OPERATION_SPECS['storage.swap.remove'],
    run: async (x, p) =>
      done({ device: `/dev/zvol/dsk/${p.volume}`, ...(await x.run(['swap', '-d', `/dev/zvol/dsk/${p.volume}`]), {}) }),
  },
  'storage.arc': {
    ...HOST_OPERATION_SPECS['storage.arc'],
    run: async (x) => kstatNumbers(parseKstat(await x.stdout(['kstat', '-p', 'zfs:0:arcstats'])), 'arcstats'),
  },
};

export const SYSTEM_OPERATIONS: Record<string, HostOperation> = {
  'system.packages.list': {
    ...HOST_OPERATION_SPECS['system.packages.list'],
    run: async (x) => parsePkgList((await x.run(['pkg', 'list', '-H'], { okExitCodes: [1] })).stdout),
  },
  'system.packages.search': {
    ...HOST_OPERATION_SPECS['system.packages.search'],
    run: async (x, p) =>
      (await x.run(['pkg', 'search', '-H', '-p', p.term], { okExitCodes: [1] })).stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ fmri: l.trim().split(/\s+/)[0], publisher: l.trim().split(/\s+/)[1] ?? null })),
  },
  'system.packages.info': {
    ...HOST_OPERATION_SPECS['system.packages.info'],
    run: async (x, p) => parsePkgInfo(await x.stdout(['pkg', 'info', '-r', p.name]))[0],
  },
  'system.packages.install': {
    ...HOST_OPERATION_SPECS['system.packages.install'],
    run: async (x, p) => ({
      changed: (await x.run(['pkg', 'install', p.name], { timeoutMs: 60 * 60_000, okExitCodes: [4] })).exitCode === 0,
      name: p.name,
    }),
  },
  'system.packages.uninstall': {
    ...HOST_OPERATION_SPECS['system.packages.uninstall'],
    run: async (x, p) => ({
      changed: (await x.run(['pkg', 'uninstall', p.name], { timeoutMs: 60 * 60_000, okExitCodes: [4] })).exitCode === 0,
      name: p.name,
    }),
  },
  'system.updates.check': {
    ...HOST_OPERATION_SPECS['system.updates.check'],
    run: async (x) => parsePkgList((await x.run(['pkg', 'list', '-H', '-u'], { okExitCodes: [1] })).stdout),
  },
  'system.updates.apply': {
    ...HOST_OPERATION_SPECS['system.updates.apply'],
    run: async (x) => ({
      changed: (await x.run(['pkg', 'update'], { timeoutMs: 2 * 60 * 60_000, okExitCodes: [4] })).exitCode === 0,
    }),
  },
  'system.services.list': {
    ...HOST_OPERATION_SPECS['system.services.list'],
    run: async (x, p) => parseSvcs(await x.stdout(['svcs', '-H', ...(p.all ? ['-a'] : []), '-o', 'state,stime,fmri'])),
  },
  'system.services.enable': {
    ...HOST_OPERATION_SPECS['system.services.enable'],
    run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'enable', '-s', p.fmri]), {}) }),
  },
  'system.services.disable': {
    ...HOST_OPERATION_SPECS['system.services.disable'],
    run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'disable', '-s', p.fmri]), {}) }),
  },
  'system.services.restart': {
    ...HOST_OPERATION_SPECS['system.services.restart'],
    run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'restart', p.fmri]), {}) }),
  },
  'system.services.refresh': {
    ...HOST_OPERATION_SPECS['system.services.refresh'],
    run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'refresh', p.fmri]), {}) }),
  },
  'system.services.clear': {
    ...HOST_OPERATION_SPECS['system.services.clear'],
    run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'clear', p.fmri]), {}) }),
  },
  'system.metrics': {
    ...HOST_OPERATION_SPECS['system.metrics'],
    run: async (x) => {
      const vm = parseVmstat(await x.stdout(['vmstat', '1', '2'], { timeoutMs: 10_000 }));
      const ks = parseKstat(await x.stdout(['kstat', '-p', 'unix:0:system_misc', 'unix:0:system_pages']));
      const misc = kstatNumbers(ks, 'system_misc');
      const pages = kstatNumbers(ks, 'system_pages');
      const pageSize = pages.pagesize ?? 4096;
      return {
        cpu_percent: 100 - vm.cpu_idle,
        load: [misc.avenrun_1min, misc.avenrun_5min, misc.avenrun_15min].map((v) => (v ?? 0) / 256),
        memory_total_bytes: (pages.physmem ?? 0) * pageSize,
        memory_free_bytes: (pages.freemem ?? 0) * pageSize,
        vmstat: vm,
      };
    },
  },
};
