import type { HostOperation } from '../host-operations';
import { kstatNumbers, parseKstat, parsePkgInfo, parsePkgList, parseSvcs, parseSwapList, parseSwapSummary, parseVmstat } from '../parsers/system';
import { parseZfsGet, parseZfsList, parseZpoolList, parseZpoolStatus, ZFS_LIST_COLUMNS, ZPOOL_LIST_COLUMNS } from '../parsers/zfs';

const LIST = ZFS_LIST_COLUMNS.join(',');
const done = (what: Record<string, unknown>) => ({ ok: true, ...what });
const propArgs = (props: Record<string, string> | undefined) => Object.entries(props ?? {}).flatMap(([k, v]) => ['-o', `${k}=${v}`]);

export const STORAGE_OPERATIONS: Record<string, HostOperation> = {
  'storage.datasets.list': { params: { root: 'dataset?' }, write: false, run: async (x, p) => parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-t', 'filesystem,volume', '-o', LIST, ...(p.root ? ['-r', p.root] : [])])) },
  'storage.datasets.get': { params: { dataset: 'dataset' }, write: false, run: async (x, p) => parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-o', LIST, p.dataset]))[0] },
  'storage.datasets.create': {
    params: { dataset: 'dataset', volume_size: 'size?', properties: 'props?' },
    write: true,
    run: async (x, p) => {
      await x.run(['zfs', 'create', ...(p.volume_size ? ['-V', p.volume_size] : []), ...propArgs(p.properties), p.dataset]);
      return parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-o', LIST, p.dataset]))[0];
    },
  },
  'storage.datasets.delete': { params: { dataset: 'dataset', recursive: 'bool?' }, write: true, run: async (x, p) => done({ dataset: p.dataset, ...(await x.run(['zfs', 'destroy', ...(p.recursive ? ['-r'] : []), p.dataset]), {}) }) },
  'storage.datasets.properties.get': { params: { dataset: 'dataset', names: 'propnames?' }, write: false, run: async (x, p) => parseZfsGet(await x.stdout(['zfs', 'get', '-H', '-p', '-o', 'name,property,value,source', p.names ? (p.names as string[]).join(',') : 'all', p.dataset])) },
  'storage.datasets.properties.set': {
    params: { dataset: 'dataset', properties: 'props' },
    write: true,
    run: async (x, p) => {
      await x.run(['zfs', 'set', ...Object.entries(p.properties as Record<string, string>).map(([k, v]) => `${k}=${v}`), p.dataset]);
      return parseZfsGet(await x.stdout(['zfs', 'get', '-H', '-p', '-o', 'name,property,value,source', Object.keys(p.properties as object).join(','), p.dataset]));
    },
  },
  'storage.datasets.rename': { params: { dataset: 'dataset', to: 'dataset' }, write: true, run: async (x, p) => done({ dataset: p.to, ...(await x.run(['zfs', 'rename', p.dataset, p.to]), {}) }) },
  'storage.datasets.clone': { params: { snapshot: 'snapshot', to: 'dataset', properties: 'props?' }, write: true, run: async (x, p) => done({ dataset: p.to, ...(await x.run(['zfs', 'clone', ...propArgs(p.properties), p.snapshot, p.to]), {}) }) },
  'storage.datasets.promote': { params: { dataset: 'dataset' }, write: true, run: async (x, p) => done({ dataset: p.dataset, ...(await x.run(['zfs', 'promote', p.dataset]), {}) }) },
  'storage.snapshots.list': { params: { dataset: 'dataset?' }, write: false, run: async (x, p) => parseZfsList(await x.stdout(['zfs', 'list', '-H', '-p', '-t', 'snapshot', '-o', LIST, ...(p.dataset ? ['-r', p.dataset] : [])])) },
  'storage.snapshots.create': { params: { dataset: 'dataset', name: 'snapname', recursive: 'bool?' }, write: true, run: async (x, p) => done({ snapshot: `${p.dataset}@${p.name}`, ...(await x.run(['zfs', 'snapshot', ...(p.recursive ? ['-r'] : []), `${p.dataset}@${p.name}`]), {}) }) },
  'storage.snapshots.delete': { params: { snapshot: 'snapshot' }, write: true, run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'destroy', p.snapshot]), {}) }) },
  'storage.snapshots.rollback': { params: { snapshot: 'snapshot', destroy_newer: 'bool?' }, write: true, run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'rollback', ...(p.destroy_newer ? ['-r'] : []), p.snapshot]), {}) }) },
  'storage.snapshots.holds': {
    params: { snapshot: 'snapshot' },
    write: false,
    run: async (x, p) => (await x.stdout(['zfs', 'holds', '-H', p.snapshot])).split('\n').filter(Boolean).map((l) => ({ snapshot: l.split('\t')[0], tag: l.split('\t')[1], since: l.split('\t')[2] })),
  },
  'storage.snapshots.hold': { params: { snapshot: 'snapshot', tag: 'snapname' }, write: true, run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'hold', p.tag, p.snapshot]), {}) }) },
  'storage.snapshots.release': { params: { snapshot: 'snapshot', tag: 'snapname' }, write: true, run: async (x, p) => done({ snapshot: p.snapshot, ...(await x.run(['zfs', 'release', p.tag, p.snapshot]), {}) }) },
  'storage.pools.list': { params: {}, write: false, run: async (x) => parseZpoolList(await x.stdout(['zpool', 'list', '-H', '-p', '-o', ZPOOL_LIST_COLUMNS.join(',')])) },
  'storage.pools.status': { params: { pool: 'name' }, write: false, run: async (x, p) => parseZpoolStatus(await x.stdout(['zpool', 'status', p.pool]))[0] },
  'storage.pools.properties': { params: { pool: 'name' }, write: false, run: async (x, p) => parseZfsGet(await x.stdout(['zpool', 'get', '-H', '-p', '-o', 'name,property,value,source', 'all', p.pool])) },
  'storage.pools.scrub': { params: { pool: 'name', stop: 'bool?' }, write: true, run: async (x, p) => done({ pool: p.pool, ...(await x.run(['zpool', 'scrub', ...(p.stop ? ['-s'] : []), p.pool]), {}) }) },
  'storage.pools.iostat': {
    params: { pool: 'name' },
    write: false,
    run: async (x, p) => {
      const [name, alloc, free, rops, wops, rbytes, wbytes] = (await x.stdout(['zpool', 'iostat', '-H', '-p', p.pool])).trim().split('\t');
      return { pool: name, allocated: Number(alloc), free: Number(free), read_ops: Number(rops), write_ops: Number(wops), read_bytes: Number(rbytes), write_bytes: Number(wbytes) };
    },
  },
  'storage.swap.list': { params: {}, write: false, run: async (x) => parseSwapList(await x.stdout(['swap', '-l'])) },
  'storage.swap.summary': { params: {}, write: false, run: async (x) => parseSwapSummary(await x.stdout(['swap', '-s'])) },
  'storage.swap.add': { params: { volume: 'dataset' }, write: true, run: async (x, p) => done({ device: `/dev/zvol/dsk/${p.volume}`, ...(await x.run(['swap', '-a', `/dev/zvol/dsk/${p.volume}`]), {}) }) },
  'storage.swap.remove': { params: { volume: 'dataset' }, write: true, run: async (x, p) => done({ device: `/dev/zvol/dsk/${p.volume}`, ...(await x.run(['swap', '-d', `/dev/zvol/dsk/${p.volume}`]), {}) }) },
  'storage.arc': { params: {}, write: false, run: async (x) => kstatNumbers(parseKstat(await x.stdout(['kstat', '-p', 'zfs:0:arcstats'])), 'arcstats') },
};

export const SYSTEM_OPERATIONS: Record<string, HostOperation> = {
  'system.packages.list': { params: {}, write: false, run: async (x) => parsePkgList((await x.run(['pkg', 'list', '-H'], { okExitCodes: [1] })).stdout) },
  'system.packages.search': { params: { term: 'term' }, write: false, run: async (x, p) => (await x.run(['pkg', 'search', '-H', '-p', p.term], { okExitCodes: [1] })).stdout.split('\n').filter(Boolean).map((l) => ({ fmri: l.trim().split(/\s+/)[0], publisher: l.trim().split(/\s+/)[1] ?? null })) },
  'system.packages.info': { params: { name: 'fmri' }, write: false, run: async (x, p) => parsePkgInfo(await x.stdout(['pkg', 'info', '-r', p.name]))[0] },
  'system.packages.install': { params: { name: 'fmri' }, write: true, run: async (x, p) => ({ changed: (await x.run(['pkg', 'install', p.name], { timeoutMs: 60 * 60_000, okExitCodes: [4] })).exitCode === 0, name: p.name }) },
  'system.packages.uninstall': { params: { name: 'fmri' }, write: true, run: async (x, p) => ({ changed: (await x.run(['pkg', 'uninstall', p.name], { timeoutMs: 60 * 60_000, okExitCodes: [4] })).exitCode === 0, name: p.name }) },
  'system.updates.check': { params: {}, write: false, run: async (x) => parsePkgList((await x.run(['pkg', 'list', '-H', '-u'], { okExitCodes: [1] })).stdout) },
  'system.updates.apply': { params: {}, write: true, run: async (x) => ({ changed: (await x.run(['pkg', 'update'], { timeoutMs: 2 * 60 * 60_000, okExitCodes: [4] })).exitCode === 0 }) },
  'system.services.list': { params: { all: 'bool?' }, write: false, run: async (x, p) => parseSvcs(await x.stdout(['svcs', '-H', ...(p.all ? ['-a'] : []), '-o', 'state,stime,fmri'])) },
  'system.services.enable': { params: { fmri: 'fmri' }, write: true, run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'enable', '-s', p.fmri]), {}) }) },
  'system.services.disable': { params: { fmri: 'fmri' }, write: true, run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'disable', '-s', p.fmri]), {}) }) },
  'system.services.restart': { params: { fmri: 'fmri' }, write: true, run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'restart', p.fmri]), {}) }) },
  'system.services.refresh': { params: { fmri: 'fmri' }, write: true, run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'refresh', p.fmri]), {}) }) },
  'system.services.clear': { params: { fmri: 'fmri' }, write: true, run: async (x, p) => done({ fmri: p.fmri, ...(await x.run(['svcadm', 'clear', p.fmri]), {}) }) },
  'system.metrics': {
    params: {},
    write: false,
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
