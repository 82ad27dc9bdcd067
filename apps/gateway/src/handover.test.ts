import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HandoverDir, readPayloadBytes, removeStale } from './handover.js';

let scratch: string;
let lines: { msg: string; dir?: string }[];
const log = () => pino({ base: undefined }, { write: (s: string) => lines.push(JSON.parse(s)) });

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'handover-test-'));
  lines = [];
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('HandoverDir', () => {
  it('writes each configuration to a new file of a private directory, and removes it all at close', () => {
    const dir = new HandoverDir(log(), [scratch]);
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const one = dir.write(bytes)!;
    const two = dir.write(new Uint8Array([9]))!;
    expect(one.file).not.toBe(two.file);
    expect(dir.directory!.startsWith(join(scratch, `ingress-gateway-${process.pid}-`))).toBe(true);
    expect(statSync(dir.directory!).mode & 0o777).toBe(0o700);
    expect(statSync(one.file).mode & 0o777).toBe(0o600);
    expect(one.length).toBe(5);
    expect([...readPayloadBytes({ handover: one })]).toEqual([1, 2, 3, 4, 5]);
    dir.remove(one.file);
    expect(existsSync(one.file)).toBe(false);
    dir.remove(one.file);
    const where = dir.directory!;
    dir.close();
    expect(existsSync(where)).toBe(false);
    expect(dir.write(bytes)).toBeUndefined();
  });

  it('takes the next place when one cannot hold the directory; none: the bytes go inline, said once', () => {
    const notADir = join(scratch, 'a-file');
    writeFileSync(notADir, '');
    const fallback = new HandoverDir(log(), [notADir, join(scratch, 'missing'), scratch]);
    expect(fallback.write(new Uint8Array([1]))).toBeDefined();
    expect(fallback.directory!.startsWith(scratch)).toBe(true);
    fallback.close();

    const none = new HandoverDir(log(), [notADir]);
    expect(none.write(new Uint8Array([1]))).toBeUndefined();
    expect(none.write(new Uint8Array([2]))).toBeUndefined();
    expect(lines.filter((l) => l.msg.startsWith('workers: cannot write a configuration file'))).toHaveLength(
      1,
    );
    none.close();
  });
});

describe('readPayloadBytes', () => {
  it('throws for a file gone, cut short or changed; inline bytes are the bytes', () => {
    const dir = new HandoverDir(log(), [scratch]);
    try {
      const ok = dir.write(new Uint8Array([1, 2, 3]))!;
      expect(() => readPayloadBytes({ handover: { ...ok, length: 4 } })).toThrow(/3 bytes, expected 4/);
      writeFileSync(ok.file, new Uint8Array([1, 2, 4]));
      expect(() => readPayloadBytes({ handover: ok })).toThrow(/digest/);
      dir.remove(ok.file);
      expect(() => readPayloadBytes({ handover: ok })).toThrow(/ENOENT/);
      expect([...readPayloadBytes({ bytes: new Uint8Array([7]) })]).toEqual([7]);
    } finally {
      dir.close();
    }
  });
});

describe('removeStale', () => {
  it("removes the directories of processes that are gone, not a live one's, nor other names", async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const gone = join(scratch, `ingress-gateway-${child.pid}-AbC123`);
    const live = join(scratch, `ingress-gateway-${process.ppid}-AbC123`);
    const other = join(scratch, `ingress-gateway-${child.pid}-toolong1`);
    for (const d of [gone, live, other]) mkdirSync(d);
    writeFileSync(join(gone, 'config-1.bin'), 'x');
    const open = new HandoverDir(log(), [scratch]);
    open.write(new Uint8Array([1]));
    removeStale(scratch);
    expect(readdirSync(scratch).sort()).toEqual(
      [live, other, open.directory!].map((d) => d.slice(scratch.length + 1)).sort(),
    );
    open.close();
  });
});
