import { Command } from 'commander';
import { examples } from '../command-kit';
import { UsageError } from '../exit-codes';

/** `word → its subcommands and flags`, from the program's own command tree. */
function tree(program: Command): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (command: Command, key: string) => {
    out.set(key, [
      ...command.commands.map((c) => c.name()),
      ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)),
    ]);
    for (const c of command.commands) walk(c, key ? `${key} ${c.name()}` : c.name());
  };
  walk(program, '');
  return out;
}

function bash(t: Map<string, string[]>): string {
  const cases = [...t].map(([k, words]) => `    "${k}") words="${words.join(' ')}" ;;`).join('\n');
  return `# hpctl completion for bash: source <(hpctl completion bash)
_hpctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do [[ $w == -* ]] || path="\${path:+$path }$w"; done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _hpctl hpctl
`;
}

function zsh(t: Map<string, string[]>): string {
  return `#compdef hpctl
# hpctl completion for zsh: hpctl completion zsh > "\${fpath[1]}/_hpctl"
${bash(t).replace('# hpctl completion for bash: source <(hpctl completion bash)\n', '')}`.replace(
    'complete -F _hpctl hpctl',
    'autoload -U +X bashcompinit && bashcompinit\ncomplete -F _hpctl hpctl',
  );
}

function fish(t: Map<string, string[]>): string {
  const lines = ['# hpctl completion for fish: hpctl completion fish > ~/.config/fish/completions/hpctl.fish'];
  for (const [k, words] of t) {
    const subs = words.filter((w) => !w.startsWith('-'));
    if (!subs.length) continue;
    const cond = k ? `__fish_seen_subcommand_from ${k.split(' ').pop()}` : '__fish_use_subcommand';
    lines.push(`complete -c hpctl -f -n '${cond}' -a '${subs.join(' ')}'`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionCommand(program: Command): Command {
  return examples(
    new Command('completion')
      .description('Print a shell completion script (bash, zsh or fish)')
      .argument('<shell>', 'bash, zsh or fish')
      .action((shell: string) => {
        const generators: Record<string, (t: Map<string, string[]>) => string> = { bash, zsh, fish };
        const generate = generators[shell];
        if (!generate) throw new UsageError(`no completion for '${shell}': use bash, zsh or fish`);
        process.stdout.write(generate(tree(program)));
      }),
    ['source <(hpctl completion bash)', 'hpctl completion fish > ~/.config/fish/completions/hpctl.fish'],
  );
}
