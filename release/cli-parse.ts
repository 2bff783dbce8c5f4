import { parseArgs } from 'node:util';
import { UserError } from '../common/errors.js';
import { BIN, COMMANDS, FLAGS, GLOBAL_FLAGS } from './cli-commands.js';

// The command line read strictly against the command's own flags; a wrong flag or command gets the one meant.

export function usage(command: string | undefined, why: string): UserError {
  return new UserError({ what: `bad arguments${command ? ` for ${command}` : ''}`, why, fix: `${BIN} ${command ? `${command} ` : ''}--help`, code: 'EUSAGE' });
}

/** Edit distance, to name the flag someone meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, known: string[]): string | undefined {
  const ranked = known.map((k) => ({ k, d: distance(word, k) })).sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= Math.max(2, Math.floor(word.length / 3)) ? ranked[0].k : undefined;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** The words that are not flags or flag values, wherever they stand (`--stage dir verify`, `--json help verify`); the strict parse that follows judges the rest. */
export function positionalsOf(argv: string[]): string[] {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([name, f]) => [name, { type: f.type }]));
  return parseArgs({ args: argv, allowPositionals: true, strict: false, options }).positionals;
}

export function parse(command: string | undefined, argv: string[]): { values: Values; positionals: string[] } {
  const allowed = command && COMMANDS[command] ? [...COMMANDS[command].flags, ...GLOBAL_FLAGS] : Object.keys(FLAGS);
  const options = Object.fromEntries(
    allowed.map((name) => [
      name,
      { type: FLAGS[name]!.type, ...(FLAGS[name]!.multiple ? { multiple: true } : {}), ...(name === 'help' ? { short: 'h' } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
    return { values: values as Values, positionals };
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(message);
    if (unknown) {
      const name = unknown[2]!;
      const near = closest(name, allowed);
      const elsewhere = !allowed.includes(name) && FLAGS[name] ? Object.keys(COMMANDS).filter((c) => COMMANDS[c]!.flags.includes(name)) : [];
      throw usage(
        command,
        `unknown flag ${unknown[1]}${name}${near ? ` (did you mean --${near}?)` : elsewhere.length > 0 ? ` (${elsewhere.join(', ')} take${elsewhere.length === 1 ? 's' : ''} it, not ${command})` : ''}`,
      );
    }
    throw usage(command, message.split('\n')[0]!);
  }
}
