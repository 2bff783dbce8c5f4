// Bundled by the Wine test and run with node.exe: writes reinstallCommand's answer for the layout, spec and platform
// folder in the JSON file argv[2] to the file argv[3].
import { readFileSync, writeFileSync } from 'node:fs';
import { reinstallCommand, type InstallLayout } from '../../../common/install-layout.js';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { layout: InstallLayout; spec: string; platformDir: string };
writeFileSync(process.argv[3]!, reinstallCommand(job.layout, job.spec, job.platformDir));
