#!/usr/bin/env node
import { ConfigError } from './config/agent-config';
import { StateDirError } from './config/state-dir';
import { HandlerRegistryError } from './jobs/handler-registry';
import { ServiceError } from './service/service-files';
import { UsageError } from './cli/args';
import { registerCommand } from './cli/register';
import { runAgentCommand } from './cli/run';
import { serviceCommand } from './cli/service';
import { statusCommand } from './cli/status';
import { AGENT_VERSION } from './version';

const USAGE = `hostplane-agent ${AGENT_VERSION}: the Hostplane host agent

usage:
  hostplane-agent register --hub URL --token hp_reg_… [--force] [--config FILE]
      trade a registration token for this node's agent token (saved 0600 in the state dir)
  hostplane-agent run [--config FILE] [--fatal-exit-code N]
      connect to the hub and run jobs, in the foreground; reconnects forever
  hostplane-agent status [--config FILE]
      registration, whether the agent runs, and its job journal
  hostplane-agent service install [--root DIR] [--no-enable] [--user NAME] [--config FILE] [--exec PATH] [--platform linux|illumos|darwin]
  hostplane-agent service uninstall [--root DIR] [--no-enable] [--platform …]
      the systemd unit, SMF manifest or launchd plist that runs \`hostplane-agent run\`

configuration: --config FILE, else $HOSTPLANE_AGENT_CONFIG, else /etc/hostplane/agent.yaml;
HOSTPLANE_AGENT_* variables override it (see docs/agent.md).
`;

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'register':
      return registerCommand(rest, out, err);
    case 'run':
      return runAgentCommand(rest, err);
    case 'status':
      return statusCommand(rest, out);
    case 'service':
      return serviceCommand(rest, out);
    case '--version':
    case 'version':
      out(AGENT_VERSION);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`hostplane-agent: ${e.message}`);
      err('run hostplane-agent --help for usage');
      process.exit(2);
    }
    if (
      e instanceof ConfigError ||
      e instanceof StateDirError ||
      e instanceof ServiceError ||
      e instanceof HandlerRegistryError
    ) {
      err(`hostplane-agent: ${e.message}`);
      process.exit(1);
    }
    err(`hostplane-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
