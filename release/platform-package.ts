import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../common/matrix.js';
import { packageMetadataFields, type PackageMetadata } from '../common/release-config.js';

/**
 * One platform package: `@aoagents/ao-<target>` holding the Go binary for that
 * os/cpu and nothing else. npm, pnpm, yarn and bun install it only where `os`
 * and `cpu` match; Yarn PnP unplugs it so the binary is a real file on disk.
 * It has no install scripts and no `bin`: the main package's launcher finds it.
 */
export interface PlatformPackageInput {
  target: Target;
  version: string;
  binaryPath: string;
  /** The folder to create; it is emptied first. */
  dir: string;
  mainPackage: string;
  /** repository, homepage, bugs and license from the release config (npm provenance needs repository). */
  metadata?: PackageMetadata;
}

/** Where the binary sits inside a platform package (the launcher and verifier read this). */
export function binaryPathInPackage(target: Pick<Target, 'executable'>): string {
  return `bin/${target.executable}`;
}

export async function writePlatformPackage(input: PlatformPackageInput): Promise<void> {
  const { target, version, dir } = input;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'bin'), { recursive: true });
  const binary = join(dir, binaryPathInPackage(target));
  await copyFile(input.binaryPath, binary);
  await chmod(binary, 0o755);
  const manifest = {
    name: target.package,
    version,
    description: `The ${target.os} ${target.cpu} binary for ${input.mainPackage}. Install ${input.mainPackage} instead; it picks this package for you.`,
    ...packageMetadataFields(input.metadata),
    os: [target.os],
    cpu: [target.cpu],
    preferUnplugged: true,
    files: [binaryPathInPackage(target)],
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(dir, 'README.md'),
    `# ${target.package}\n\nThe \`${target.executable}\` binary of \`${input.mainPackage}\` ${version} for ${target.os} ${target.cpu}.\n\n` +
      `Do not install this package directly: \`npm install -g ${input.mainPackage}\` selects the right platform package and verifies it.\n`,
  );
  await writeFile(join(dir, 'LICENSE'), licenseText(input.metadata?.license ?? 'MIT'));
}

export function licenseText(spdx: string): string {
  if (spdx !== 'MIT') return `${spdx}\n`;
  return `MIT License\n\nCopyright (c) ao contributors\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n`;
}
