import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { openZoneConsole, unwrap, type ResponseOf } from '@hostplane/sdk';
import { nodeWebSocket } from '@hostplane/sdk/node';
import { call, examples, run } from '../command-kit';
import { print, type Column } from '../output';
import type { Session } from '../session';
import { attachTerminal } from '../terminal';
import { hostWriteResult } from '../wait';

/** A zones read: where it came from (`source`, `as_of`, `truncated`) and the zone or zones in `data`. */
type ZoneList = ResponseOf<'/v1/nodes/{id}/zones', 'get'>;
type ZoneRead = ResponseOf<'/v1/nodes/{id}/zones/{zone}', 'get'>;
type Zone = ZoneList['data'][number];

const ZONE_COLUMNS: Column<Zone>[] = [
  ['NAME', (z) => z.name],
  ['STATE', (z) => z.state],
  ['BRAND', (z) => z.brand],
  ['RAM', (z) => z.ram],
  ['VCPUS', (z) => z.vcpus],
  ['ZONEPATH', (z) => z.zonepath],
];

interface NodeOption {
  node: string;
}
interface LiveOption extends NodeOption {
  live?: boolean;
}
interface WaitOption extends NodeOption {
  wait?: boolean;
}

const liveQuery = (live: boolean | undefined) => (live ? { live: 'true' as const } : {});

async function getZone(s: Session, node: string, zone: string, live?: boolean): Promise<ZoneRead> {
  return unwrap(
    s.client.api.GET('/v1/nodes/{id}/zones/{zone}', {
      params: { path: { id: node, zone }, query: liveQuery(live) },
    }),
  );
}

/** `--node` is every zone command's: zones are resources of one illumos node. */
function onNode(command: Command): Command {
  return command.requiredOption('--node <id>', 'the illumos node');
}

function withWait(command: Command): Command {
  return onNode(command).option('--wait', 'wait for the operation (progress on stderr); print the zone afterwards');
}

const ACTIONS = {
  start: ['Boot a zone (zoneadm boot)', '/v1/nodes/{id}/zones/{zone}/start'],
  stop: ['Shut a zone down cleanly (zoneadm shutdown)', '/v1/nodes/{id}/zones/{zone}/stop'],
  halt: ['Halt a zone at once (zoneadm halt)', '/v1/nodes/{id}/zones/{zone}/halt'],
  restart: ['Reboot a zone', '/v1/nodes/{id}/zones/{zone}/restart'],
} as const;

/** illumos zones of a node, through its zone resource routes (`/v1/nodes/{id}/zones…`, docs/api/zones.md). */
export function zonesCommand(): Command {
  const zones = new Command('zones').description('illumos zones of a node: list, lifecycle, clone, delete, console');
  zones.addCommand(
    examples(
      onNode(new Command('list').description("The node's zones (from its last inventory; --live reads the host now)"))
        .option('--live', 'run zoneadm list on the host now')
        .action(
          run<LiveOption>(async (s, _a, o) => {
            const answer: ZoneList = await unwrap(
              s.client.api.GET('/v1/nodes/{id}/zones', {
                params: { path: { id: o.node }, query: liveQuery(o.live) },
              }),
            );
            if (answer.truncated) process.stderr.write('the inventory list is cut at its cap: use --live for all\n');
            print(s.format, answer.data, ZONE_COLUMNS);
          }),
        ),
      ['hpctl zones list --node 2b1f…', 'hpctl zones list --node 2b1f… --live -o json | jq -r ".[].name"'],
    ),
  );
  zones.addCommand(
    examples(
      onNode(new Command('get').description('One zone (--live: from the host now, with its whole configuration)'))
        .argument('<zone>')
        .option('--live', 'read the host now')
        .action(
          run<LiveOption>(async (s, [zone], o) => print(s.format, (await getZone(s, o.node, zone, o.live)).data)),
        ),
      ['hpctl zones get web01 --node 2b1f…', 'hpctl zones get web01 --node 2b1f… --live -o yaml'],
    ),
  );
  zones.addCommand(
    examples(
      withWait(new Command('create').description('Create a zone as a clone of an installed zone (zoneadm clone)'))
        .argument('<name>', 'the new zone')
        .requiredOption('--from <zone>', 'the zone to clone (halted or installed)')
        .option('--zonepath <path>', "where it lives (default: beside the source's zonepath)")
        .action(
          run<WaitOption & { from: string; zonepath?: string }>(async (s, [name], o) => {
            const zonepath = o.zonepath ?? join(dirname((await getZone(s, o.node, o.from)).data.zonepath), name);
            const accepted = await call(
              s.client.api.POST('/v1/nodes/{id}/zones/{zone}/clone', {
                params: { path: { id: o.node, zone: o.from } },
                body: { name, zonepath },
              }),
            );
            await hostWriteResult(s.client, accepted, o.wait, 'create');
            print(s.format, o.wait ? (await getZone(s, o.node, name, true)).data : accepted.data);
          }),
        ),
      [
        'hpctl zones create web02 --from web01 --node 2b1f… --wait',
        'hpctl zones create web03 --from web01 --zonepath /zones/web03 --node 2b1f…',
      ],
    ),
  );
  for (const [action, [description, path]] of Object.entries(ACTIONS)) {
    zones.addCommand(
      examples(
        withWait(new Command(action).description(description))
          .argument('<zone>')
          .action(
            run<WaitOption>(async (s, [zone], o) => {
              const accepted = await call(
                s.client.api.POST(path as (typeof ACTIONS)['start'][1], { params: { path: { id: o.node, zone } } }),
              );
              await hostWriteResult(s.client, accepted, o.wait, action);
              print(s.format, o.wait ? (await getZone(s, o.node, zone, true)).data : accepted.data);
            }),
          ),
        [`hpctl zones ${action} web01 --node 2b1f… --wait`],
      ),
    );
  }
  zones.addCommand(
    examples(
      withWait(new Command('delete').description('Delete a zone: halted, uninstalled, its configuration deleted'))
        .argument('<zone>')
        .action(
          run<WaitOption>(async (s, [zone], o) => {
            const accepted = await call(
              s.client.api.DELETE('/v1/nodes/{id}/zones/{zone}', { params: { path: { id: o.node, zone } } }),
            );
            print(s.format, await hostWriteResult(s.client, accepted, o.wait, 'delete'));
          }),
        ),
      ['hpctl zones delete web02 --node 2b1f… --wait'],
    ),
  );
  zones.addCommand(
    examples(
      onNode(
        new Command('console').description(
          "The zone's console (zlogin -C), or a shell in it with --shell; raw terminal, Ctrl-] detaches (~. ends zlogin)",
        ),
      )
        .argument('<zone>')
        .option('--shell', 'a shell in the zone (zlogin) instead of its console')
        .action(
          run<NodeOption & { shell?: boolean }>(async (s, [zone], o) => {
            const stream = openZoneConsole(s.client, o.node, zone, {
              webSocket: nodeWebSocket,
              shell: o.shell,
              cols: process.stdout.columns,
              rows: process.stdout.rows,
            });
            process.exitCode = await attachTerminal(stream);
          }),
        ),
      ['hpctl zones console web01 --node 2b1f…', 'hpctl zones console web01 --node 2b1f… --shell'],
    ),
  );
  return zones;
}
