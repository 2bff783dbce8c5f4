// Bundled by the Wine test and run with node.exe: runs each job through the
// cutover's runCommand and writes what came back to the file named in argv[3].
import { readFileSync, writeFileSync } from 'node:fs';
import { runCommand } from '../../../installer/cutover/run.js';

async function main(): Promise<void> {
  const jobs = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { cmd: string; args: string[] }[];
  const results = [];
  for (const job of jobs) results.push(await runCommand(job.cmd, job.args, { timeoutMs: 60_000 }));
  writeFileSync(process.argv[3]!, JSON.stringify(results));
}
void main();
