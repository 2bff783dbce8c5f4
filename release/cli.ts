#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUserError, UserError } from '../common/errors.js';
import { BIN, COMMANDS, commandHelp, DEFAULT_STAGE, flagUsage, mainHelp } from './cli-commands.js';
import { closest, parse, positionalsOf, usage } from './cli-parse.js';
import { run } from './cli-run.js';

/** `ao-release <command> [flags] [--json]`: help, usage errors and the one JSON object live here; `cli-run.ts` does the work. */
export async function main(argv: string[]): Promise<number> {
  const words = positionalsOf(argv);
  const command = words[0];
  const json = argv.includes('--json');
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const notices: string[] = [];
  const notice = (line: string) => {
    notices.push(line);
    if (!json) process.stderr.write(`${BIN}: ${line}\n`);
  };
  try {
    if (!command || command === 'help') {
      const topic = words[1];
      if (topic && COMMANDS[topic]) return help(commandHelp(topic), json);
      if (!command && !argv.includes('--help') && !argv.includes('-h')) {
        if (json) throw usage(undefined, 'no command given');
        process.stderr.write(mainHelp());
        return 2;
      }
      return help(mainHelp(), json);
    }
    if (!COMMANDS[command]) {
      const near = closest(command, Object.keys(COMMANDS));
      throw usage(undefined, `unknown command "${command}"${near ? ` (did you mean ${near}?)` : ''}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
    }
    const { values, positionals } = parse(command, argv);
    if (values.help) return help(commandHelp(command), json);
    if (positionals.length > 1) throw usage(command, `unexpected argument "${positionals[1]}" (flags take the form --name value)`);
    const missing = (COMMANDS[command].required ?? []).filter((f) => values[f] === undefined || values[f] === '');
    if (missing.length > 0) throw usage(command, `${command} needs ${missing.map(flagUsage).join(', ')}`);
    const stageDir = resolve(
      (values.stage as string | undefined) ?? (command === 'stage' ? ((values.out as string | undefined) ?? DEFAULT_STAGE) : DEFAULT_STAGE),
    );
    const result = await run(command, values, stageDir, say, notice);
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, command, result, ...(notices.length > 0 ? { notices } : {}) })}\n`);
    return 0;
  } catch (err) {
    const e = isUserError(err) ? err : unexpected(command, err);
    if (json)
      process.stdout.write(`${JSON.stringify({ ok: false, command: command ?? null, error: { code: e.code, what: e.what, why: e.why, fix: e.fix } })}\n`);
    else process.stderr.write(`${BIN}: ${e.what}\n  why: ${e.why}\n${e.fix ? `  fix: ${e.fix}\n` : ''}`);
    if (!isUserError(err) && process.env.AO_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

function help(text: string, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify({ ok: true, command: 'help', result: { help: text } })}\n`);
  else process.stdout.write(text);
  return 0;
}

/** A failure nobody anticipated still gets one what/why/fix, never a bare stack trace. */
function unexpected(command: string | undefined, err: unknown): UserError {
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0]!;
  return new UserError({
    what: `${command ?? BIN} failed unexpectedly`,
    why: message,
    fix: `run the same command again with AO_DEBUG=1 for the stack trace, and report it`,
    code: 'EINTERNAL',
    cause: err,
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
