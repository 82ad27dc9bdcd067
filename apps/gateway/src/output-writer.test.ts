// The stdout writer on real descriptors: a file, and a non-blocking pipe whose reader stops reading.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputWriter } from './output-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BUILT = new URL('../dist/output-writer.js', import.meta.url).href;

/**
 * A child writing `batches` numbered 64 KiB batches of lines through an OutputWriter on its stdout, a
 * pipe made non-blocking (touching process.stdout does that). It says on stderr when its writes are
 * waiting (`waiting N`) or dropped (`dropped N`), and exits once all is written.
 */
function writerChild(batches: number, maxQueuedBytes: number) {
  const script = `
    const { OutputWriter } = await import(${JSON.stringify(BUILT)});
    process.stdout; // libuv makes a pipe on fd 1 non-blocking
    const w = new OutputWriter(1, { maxQueuedBytes: ${maxQueuedBytes} });
    const line = (b, i) => 'batch ' + b + ' line ' + i + ' ' + 'x'.repeat(90) + '\\n';
    for (let b = 0; b < ${batches}; b++) {
      let s = '';
      for (let i = 0; i < 600; i++) s += line(b, i);
      if (b % 2 === 0) w.write(s); else w.writeBytes(Buffer.from(s));
    }
    process.stderr.write(w.dropped > 0 ? 'dropped ' + w.dropped + '\\n' : 'waiting ' + w.pending + '\\n');
    const done = setInterval(() => { if (w.pending === 0) { clearInterval(done); process.exit(0); } }, 5);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pause();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const said = new Promise<string>((resolve) => {
    child.stderr.on('data', (d: string) => {
      stderr += d;
      const report = /^(waiting|dropped) \d+$/m.exec(stderr);
      if (report) resolve(report[0]);
    });
  });
  return { child, said, stderr: () => stderr };
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    text += d;
  });
  return once(stream, 'end').then(() => text);
}

describe('OutputWriter', () => {
  it('writes strings and bytes to a file in order, whole', () => {
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const w = new OutputWriter(fd);
    w.write('one\n');
    w.writeBytes(Buffer.from('two\nthree\n'));
    w.write('');
    w.write('\u00e9\u4e2d\n');
    w.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\nthree\n\u00e9\u4e2d\n');
    expect(w.pending).toBe(0);
  });

  it('holds what a full non-blocking pipe does not take and delivers all of it, in order, once read', async () => {
    const { child, said } = writerChild(64, 64 * 1024 * 1024);
    // 64 batches of ~60 KiB are far more than a pipe holds: the writer must be waiting.
    expect(await said).toMatch(/^waiting [1-9]\d*$/);
    const out = collect(child.stdout);
    child.stdout.resume();
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const lines = (await out).split('\n').slice(0, -1);
    expect(lines).toHaveLength(64 * 600);
    expect(lines.every((l, k) => l.startsWith(`batch ${Math.floor(k / 600)} line ${k % 600} `))).toBe(true);
  }, 30_000);

  it('drops whole batches past its bound, says so once on stderr, and keeps what it kept in order', async () => {
    const { child, said, stderr } = writerChild(64, 512 * 1024);
    expect(await said).toMatch(/^dropped [1-9]\d*$/);
    const out = collect(child.stdout);
    child.stdout.resume();
    await once(child, 'exit');
    expect(stderr().match(/does not keep up/g)).toHaveLength(1);
    const lines = (await out).split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(64 * 600);
    expect(lines.length % 600).toBe(0);
    const batches = lines.filter((_, k) => k % 600 === 0).map((l) => Number(l.split(' ')[1]));
    expect(batches).toEqual([...batches].sort((a, b) => a - b));
    expect(lines.every((l) => /^batch \d+ line \d+ x{90}$/.test(l))).toBe(true);
  }, 30_000);
});
