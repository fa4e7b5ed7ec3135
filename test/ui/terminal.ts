/**
 * A fake terminal for mounting the Ink presenter in tests: a stdout that records every write
 * and a raw-mode stdin the test types into.
 */
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';

export class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 100;
  readonly rows = 40;
  readonly writes: string[] = [];

  write(chunk: string): boolean {
    this.writes.push(chunk);

    return true;
  }

  /** Everything written so far, without escape sequences. */
  text(): string {
    return stripVTControlCharacters(this.writes.join(''));
  }
}

export class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  private pending: string[] = [];

  type(keys: string): void {
    this.pending.push(keys);
    this.emit('readable');
  }

  read(): string | null {
    return this.pending.shift() ?? null;
  }

  setRawMode(): this {
    return this;
  }

  setEncoding(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  resume(): this {
    return this;
  }

  pause(): this {
    return this;
  }
}

/** Lets Ink read input and React commit. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 30));
}
