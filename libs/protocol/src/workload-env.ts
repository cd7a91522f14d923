/**
 * Environment names that steer the dynamic loader, a shell or an interpreter before the
 * workload's own code runs (LD_PRELOAD, BASH_ENV, NODE_OPTIONS…): a tenant who sets them runs
 * code in whatever the agent starts for it. Workloads may not set them unless an admin allows
 * the name (`security.allow_env`).
 */
export const LOADER_VARIABLE_NAMES: ReadonlySet<string> = new Set([
  'PATH',
  'ENV',
  'BASH_ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  'PS4',
  'CDPATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'RUBYLIB',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'GCONV_PATH',
  'LOCPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'GLIBC_TUNABLES',
  'TMPDIR',
]);
export const LOADER_VARIABLE_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'PYTHON', 'BASH_FUNC_', 'MALLOC_', 'LUA_'];

/** True when `name` is a loader/interpreter variable (case-insensitive: `ld_preload` too). */
export function isLoaderVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return LOADER_VARIABLE_NAMES.has(upper) || LOADER_VARIABLE_PREFIXES.some((p) => upper.startsWith(p));
}
