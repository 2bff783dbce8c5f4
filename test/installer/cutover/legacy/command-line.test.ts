import { describe, expect, it } from 'vitest';
import { commandLine, type ResumeCommand } from '../../../../installer/cutover/legacy/guide/agents.js';

const claude: ResumeCommand = {
  agent: 'claude-code',
  cli: 'claude',
  args: ['--resume', '0b7c5a52-9d1e-4b7a-a1f4-3f1e2d7c9a10'],
  install: 'npm install -g @anthropic-ai/claude-code',
};

// cmd.exe reads no single quotes and its cd stays on the current drive without /d: `cd 'D:\work\Ann Bo\wt' && claude ...`
// was "The system cannot find the path specified", and the agent resumed in the wrong folder.
describe("a legacy session's resume command, printed for the shell of the platform", () => {
  it('on Windows: cd /d and double quotes, a %NAME% in the path kept as it is', () => {
    expect(commandLine(claude, 'D:\\work\\Ann Bo\\wt', 'win32')).toBe('cd /d "D:\\work\\Ann Bo\\wt" && claude --resume 0b7c5a52-9d1e-4b7a-a1f4-3f1e2d7c9a10');
    expect(commandLine(claude, 'D:\\100%TEMP%\\wt', 'win32')).toBe('cd /d "D:\\100%"T"EMP%\\wt" && claude --resume 0b7c5a52-9d1e-4b7a-a1f4-3f1e2d7c9a10');
  });

  it('elsewhere: cd and single quotes', () => {
    expect(commandLine(claude, '/home/ann/work tree', 'linux')).toBe("cd '/home/ann/work tree' && claude --resume 0b7c5a52-9d1e-4b7a-a1f4-3f1e2d7c9a10");
  });
});
