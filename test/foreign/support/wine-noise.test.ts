import { describe, expect, it } from 'vitest';
import { withoutWineNoise } from './foreign.js';

describe('withoutWineNoise', () => {
  it("drops Wine's exit-race line, whole or cut short, and keeps everything the program wrote", () => {
    // As CI saw it: the exit won the race, so only the prefix was written.
    expect(withoutWineNoise('wine client error:1b0: ')).toBe('');
    expect(withoutWineNoise('wine client error:1b0: read: Bad file descriptor\n')).toBe('');
    expect(withoutWineNoise('ao: refusing to run\nwine client error:2c: write: Broken pipe\nrun npm install -g\n')).toBe(
      'ao: refusing to run\nrun npm install -g\n',
    );
    // Only Wine's own prefix at the start of a line: a program quoting it, or any other text, is kept.
    expect(withoutWineNoise('error: wine client error:1b0: x\n')).toBe('error: wine client error:1b0: x\n');
    expect(withoutWineNoise('wine client error: not hex\n')).toBe('wine client error: not hex\n');
  });
});
