import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INVALID_YAML, ingress, service, tempDir } from './fixtures.test-support.js';
import { loadConfig, ParseCache } from './load-config.js';
import { readConfig } from './read-config.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(() => tmp.remove());

describe('loadConfig', () => {
  it('reads a multi-document file', async () => {
    const file = join(tmp.dir, 'config.yaml');
    await writeFile(file, `${service('web')}---\n${ingress('web', 'example.com', 'web')}`);
    const result = await loadConfig(file);
    expect(result.diagnostics).toEqual([]);
    expect(result.files).toEqual([file]);
    expect(result.snapshot.services.map((s) => s.object.metadata.name)).toEqual(['web']);
    expect(result.snapshot.ingresses.map((i) => i.source)).toEqual([{ file, line: 11, order: 1 }]);
    expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads a directory like kubectl apply -f: manifests only, non-recursive, by name, orders continuing', async () => {
    await writeFile(join(tmp.dir, 'b.yaml'), `${service('b1')}---\n${service('b2')}`);
    await writeFile(join(tmp.dir, 'a.yml'), service('a'));
    await writeFile(
      join(tmp.dir, 'c.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c', namespace: 'dev' } }),
    );
    await writeFile(join(tmp.dir, 'notes.txt'), service('txt'));
    await writeFile(join(tmp.dir, '.editor-temp.yaml'), service('hidden'));
    await mkdir(join(tmp.dir, 'nested.yaml'));
    await writeFile(join(tmp.dir, 'nested.yaml', 'x.yaml'), service('nested'));

    const result = await loadConfig(tmp.dir);
    expect(result.diagnostics).toEqual([]);
    expect(result.files).toEqual(['a.yml', 'b.yaml', 'c.json'].map((n) => join(tmp.dir, n)));
    expect(result.snapshot.services.map((s) => [s.object.metadata.name, s.source.order])).toEqual([
      ['a', 0],
      ['b1', 1],
      ['b2', 2],
      ['c', 3],
    ]);
  });

  it('reads an empty file or directory as no objects', async () => {
    const file = join(tmp.dir, 'empty.yaml');
    await writeFile(file, '');
    for (const path of [file, tmp.dir]) {
      const result = await loadConfig(path);
      expect(result.diagnostics).toEqual([]);
      expect(result.snapshot.ingresses).toEqual([]);
      expect(result.snapshot.services).toEqual([]);
    }
  });

  it('reports a missing path as an error naming it', async () => {
    const path = join(tmp.dir, 'missing.yaml');
    const result = await loadConfig(path);
    expect(result.files).toEqual([]);
    expect(result.snapshot.services).toEqual([]);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', file: path, message: expect.stringContaining('ENOENT') }),
    ]);
  });

  it('reports an unreadable file of a directory, and reads the rest', async () => {
    // A symlink loop is unreadable even for root (ELOOP), unlike chmod 000.
    const bad = join(tmp.dir, 'a.yaml');
    await symlink('a.yaml', bad);
    await writeFile(join(tmp.dir, 'b.yaml'), service('b'));
    const result = await loadConfig(tmp.dir);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', file: bad, message: expect.stringContaining('ELOOP') }),
    ]);
    expect(result.snapshot.services.map((s) => s.object.metadata.name)).toEqual(['b']);
  });

  it('passes on parse diagnostics with the file name', async () => {
    await writeFile(join(tmp.dir, 'a.yaml'), service('a'));
    const bad = join(tmp.dir, 'b.yaml');
    await writeFile(bad, INVALID_YAML);
    const result = await loadConfig(tmp.dir);
    expect(result.diagnostics.length).toBeGreaterThan(0);
    expect(result.diagnostics.every((d) => d.severity === 'error' && d.file === bad)).toBe(true);
    expect(result.snapshot.services.map((s) => s.object.metadata.name)).toEqual(['a']);
  });

  it('hashes the bytes: same content, same hash', async () => {
    const file = join(tmp.dir, 'config.yaml');
    await writeFile(file, service('web'));
    const first = await loadConfig(file);
    await writeFile(file, service('web'));
    expect((await loadConfig(file)).hash).toBe(first.hash);
    await writeFile(file, service('web', 81));
    expect((await loadConfig(file)).hash).not.toBe(first.hash);
  });
});

describe('loadConfig with a ParseCache', () => {
  it('parses again only the files whose bytes changed; orders still continue across files', async () => {
    const cache = new ParseCache();
    await writeFile(join(tmp.dir, 'a.yaml'), `${service('a1')}---\n${service('a2')}`);
    await writeFile(join(tmp.dir, 'b.yaml'), service('b'));
    const first = await loadConfig(tmp.dir, cache);
    const orders = (r: typeof first) =>
      r.snapshot.services.map((s) => [s.object.metadata.name, s.source.order]);
    expect(orders(first)).toEqual([
      ['a1', 0],
      ['a2', 1],
      ['b', 2],
    ]);

    // b changes: a's objects are the very ones parsed before.
    await writeFile(join(tmp.dir, 'b.yaml'), service('b', 8080));
    const second = await loadConfig(tmp.dir, cache);
    expect(second.snapshot.services[0]!.object).toBe(first.snapshot.services[0]!.object);
    expect(second.snapshot.services[2]!.object).not.toBe(first.snapshot.services[2]!.object);
    expect(second.snapshot.services[2]!.object.spec?.ports?.[0]?.port).toBe(8080);

    // a loses an object: b, unchanged, is not parsed again but renumbered.
    await writeFile(join(tmp.dir, 'a.yaml'), service('a1'));
    const third = await loadConfig(tmp.dir, cache);
    expect(orders(third)).toEqual([
      ['a1', 0],
      ['b', 1],
    ]);
    expect(third.snapshot.services[1]!.object).toBe(second.snapshot.services[2]!.object);
    // The same result as without a cache.
    expect(orders(await loadConfig(tmp.dir))).toEqual(orders(third));
  });

  it('keeps parse diagnostics of an unchanged file, and forgets removed files', async () => {
    const cache = new ParseCache();
    await writeFile(join(tmp.dir, 'bad.yaml'), INVALID_YAML);
    await writeFile(join(tmp.dir, 'ok.yaml'), service('ok'));
    const first = await loadConfig(tmp.dir, cache);
    await writeFile(join(tmp.dir, 'ok.yaml'), service('ok', 81));
    const second = await loadConfig(tmp.dir, cache);
    expect(second.diagnostics).toEqual(first.diagnostics);
    expect(second.diagnostics.length).toBeGreaterThan(0);
    await rm(join(tmp.dir, 'bad.yaml'));
    const third = await loadConfig(tmp.dir, cache);
    expect(third.diagnostics).toEqual([]);
    expect(third.snapshot.services.map((s) => s.object.metadata.name)).toEqual(['ok']);
  });
});

describe('readConfig', () => {
  it('keeps only the bytes of files the caller does not know; the hash is the same', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => service(`s${i}`)).join('---\n'); // > its 64 KiB buffer
    await writeFile(join(tmp.dir, 'a.yaml'), big);
    await writeFile(join(tmp.dir, 'b.yaml'), service('b'));
    const all = await readConfig(tmp.dir);
    expect(all.files.map((f) => f.bytes?.toString('utf8'))).toEqual([big, service('b')]);
    const a = all.files[0]!;
    const some = await readConfig(tmp.dir, (path, digest) => path === a.path && digest === a.digest);
    expect(some.files.map((f) => f.bytes === undefined)).toEqual([true, false]);
    expect(some.files.map((f) => f.digest)).toEqual(all.files.map((f) => f.digest));
    expect(some.hash).toBe(all.hash);
  });
});
