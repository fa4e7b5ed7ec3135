import { afterEach, describe, expect, it } from 'vitest';
import { CANCELLED } from '../../source/engine/events.js';
import { createInkPresenter } from '../../source/ui/ink/presenter.js';
import type { Presenter } from '../../source/ui/presenter.js';
import { afterApproval, beforeApproval, plan } from './fixture.js';
import { FakeStdin, FakeStdout, settle } from './terminal.js';

let mounted: Presenter | undefined;

function mount(onSecret?: (value: string) => void) {
  const stdout = new FakeStdout();
  const stdin = new FakeStdin();
  const ui = createInkPresenter({
    command: 'fix',
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    onSecret,
    patchConsole: false,
  });
  mounted = ui;

  return { ui, stdout, stdin };
}

afterEach(async () => {
  await mounted?.close();
  mounted = undefined;
});

describe('Ink presenter', () => {
  it('resolves the approval with the key the admin presses, ignoring Enter', async () => {
    const { ui, stdin } = mount();
    for (const event of beforeApproval) ui.emit(event);
    const answer = ui.approve(plan);
    await settle();
    stdin.type('\r');
    await settle();
    stdin.type('y');

    expect(await answer).toBe(true);
  });

  it('asks queued questions one after the other', async () => {
    const { ui, stdin } = mount();
    const first = ui.confirm('Remove the stale node shir-vm-1?');
    const second = ui.confirm('Delete the test pipeline?');
    await settle();
    stdin.type('n');
    expect(await first).toBe(false);
    await settle();
    stdin.type('y');

    expect(await second).toBe(true);
  });

  it('hands a typed secret to the redactor hook and the core', async () => {
    const seen: string[] = [];
    const { ui, stdin } = mount((value) => seen.push(value));
    const answer = ui.askSecret('x-api-key of RestService?');
    await settle();
    for (const key of ['s', '3', 'c', 'r', 'e', 't']) {
      stdin.type(key);
      await settle();
    }
    stdin.type('\r');

    expect(await answer).toBe('s3cret');
    expect(seen).toEqual(['s3cret']);
  });

  it('cancels every open prompt on interrupt and reports Ctrl-C', async () => {
    const { ui, stdin } = mount();
    let interrupts = 0;
    ui.onInterrupt(() => (interrupts += 1));
    const approval = ui.approve(plan);
    const secret = ui.askSecret('password?');
    await settle();
    stdin.type('\u0003');
    await settle();
    ui.cancelPrompts();

    expect(interrupts).toBe(1);
    expect(await approval).toBe(CANCELLED);
    expect(await secret).toBe(CANCELLED);
  });

  it('leaves the summary on screen when closed', async () => {
    const { ui, stdout } = mount();
    for (const event of [...beforeApproval, ...afterApproval]) ui.emit(event);
    await ui.close();
    mounted = undefined;

    expect(stdout.text()).toContain('End-to-end API test passed');
    expect(stdout.text()).toContain('Plan: 2 to create, 1 to update, 1 to delete');
  });

  it('shows an error that ended the run as a failed summary', async () => {
    const { ui, stdout } = mount();
    const error = { code: 'x', what: 'The sandbox did not start.', fix: 'Free a port.' };
    ui.showError({ ...error, exitCode: 1 });
    await ui.close();
    mounted = undefined;

    expect(stdout.text()).toContain('Failed (exit 1)');
    expect(stdout.text()).toContain('fix: Free a port.');
  });
});
