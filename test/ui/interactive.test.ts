import { describe, expect, it } from 'vitest';
import { isCi, isInteractive } from '../../source/ui/interactive.js';

const terminal = {
  isStdinTty: true,
  isStdoutTty: true,
  env: {},
  isAutoApproved: false,
  isJson: false,
};

describe('interactivity policy', () => {
  it('is interactive only on two terminals, outside CI, without --yes or --json', () => {
    expect(isInteractive(terminal)).toBe(true);
    expect(isInteractive({ ...terminal, isStdinTty: false })).toBe(false);
    expect(isInteractive({ ...terminal, isStdoutTty: false })).toBe(false);
    expect(isInteractive({ ...terminal, env: { CI: 'true' } })).toBe(false);
    expect(isInteractive({ ...terminal, isAutoApproved: true })).toBe(false);
    expect(isInteractive({ ...terminal, isJson: true })).toBe(false);
  });

  it('reads CI as set unless it is empty, 0 or false', () => {
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});
