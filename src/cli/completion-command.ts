/** `completion bash|zsh`: a shell completion script built from the command table. */
import { UsageError, type Command } from './command.js';

function flagsOf(c: Command): string[] {
  return [...Object.keys(c.options).map((f) => `--${f}`), '--help'];
}

function bash(commands: readonly Command[]): string {
  const cases = commands.map((c) => `    ${c.name}) flags="${flagsOf(c).join(' ')}" ;;`).join('\n');
  return `# ascend-sidecar bash completion: eval "$(ascend-sidecar completion bash)"
_ascend_sidecar() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')} --help --version" -- "$cur")); return
  fi
  case "$cmd" in
${cases}
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    --config|-c|--request|-r|--junit|--out|--from) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -F _ascend_sidecar ascend-sidecar
`;
}

function zsh(commands: readonly Command[]): string {
  const subs = commands.map((c) => `'${c.name}:${c.summary.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`).join(' ');
  const cases = commands.map((c) => `    ${c.name}) _arguments ${flagsOf(c).map((f) => `'${f}[]${/config|request|junit|out|from/.test(f) ? ':file:_files' : ''}'`).join(' ')} ;;`).join('\n');
  return `#compdef ascend-sidecar
# ascend-sidecar zsh completion: ascend-sidecar completion zsh > "\${fpath[1]}/_ascend-sidecar"
_ascend_sidecar() {
  if (( CURRENT == 2 )); then
    local -a subs; subs=(${subs}); _describe command subs; return
  fi
  case \${words[2]} in
${cases}
  esac
}
compdef _ascend_sidecar ascend-sidecar
`;
}

/** The completion command needs the table it completes, so the entry builds it. */
export function completionCommand(commands: () => readonly Command[]): Command {
  const self: Command = {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    usage: 'bash|zsh',
    options: {},
    positionals: true,
    async run(_v, positionals) {
      const shell = positionals[0];
      if (positionals.length !== 1 || (shell !== 'bash' && shell !== 'zsh')) throw new UsageError('name one shell: bash or zsh', self);
      process.stdout.write(shell === 'bash' ? bash(commands()) : zsh(commands()));
      return 0;
    },
  };
  return self;
}
