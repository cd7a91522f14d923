import { loadAgentConfig } from '../config/agent-config';
import { readCredentials, runningAgentPid } from '../config/state-dir';
import { JobJournal } from '../jobs/journal';
import { SERVICE_DEFINITIONS, platformOfThisHost } from '../service/service-definitions';
import { serviceState } from '../service/service-files';
import { parseArgs, parseFlags } from './args';

/** `status`: registration (never the token), whether the agent runs, and what its journal holds. */
export async function statusCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const flags = parseFlags(
    'status',
    () =>
      parseArgs({ args: argv, strict: true, allowPositionals: false, options: { config: { type: 'string' } } }).values,
  );
  const config = loadAgentConfig({ file: flags.config });
  const row = (label: string, value: string) => out(`${`${label}:`.padEnd(12)} ${value}`);

  row('config', config.configFile ?? 'none (defaults and HOSTPLANE_AGENT_* variables)');
  row('state dir', config.stateDir);
  const credentials = readCredentials(config.stateDir);
  row(
    'registered',
    credentials
      ? `node ${credentials.node_id} with ${config.hubUrl ?? credentials.hub_url}`
      : 'no (run hostplane-agent register --hub URL --token hp_reg_…)',
  );

  const pid = runningAgentPid(config.stateDir);
  row('process', pid !== null ? `running (pid ${pid})` : 'not running');
  const platform = platformOfThisHost();
  if (platform) {
    const state = await serviceState(platform);
    row(
      'service',
      state
        ? `${state} (${SERVICE_DEFINITIONS[platform].manager})`
        : `unknown (${SERVICE_DEFINITIONS[platform].manager} did not answer)`,
    );
  }

  const journal = await JobJournal.read(config.stateDir);
  const c = journal.counts();
  row(
    'jobs',
    `${c.unfinished} unfinished, ${c.undelivered} results awaiting the hub, ${c.delivered} delivered (kept ${config.journal.retentionDays} days)`,
  );
  return 0;
}
