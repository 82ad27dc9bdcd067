import { writeFileSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INVALID_YAML, Inbox, ingress, service, tempDir } from './fixtures.test-support.js';
import { type ConfigResult, loadConfig } from './load-config.js';
import { type ConfigWatcher, type WatchOptions, watchConfig } from './watch-config.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
const watchers: ConfigWatcher[] = [];

beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await tmp.remove();
});

/** Starts a watcher from a loaded baseline (as the app does), so no change can slip in between. */
async function watch(path: string, opts: WatchOptions = {}): Promise<Inbox<ConfigResult>> {
  const inbox = new Inbox<ConfigResult>();
  const { hash } = await loadConfig(path);
  const watcher = watchConfig(path, inbox.push, { since: hash, ...opts });
  watchers.push(watcher);
  await watcher.ready;
  return inbox;
}

const serviceNames = (r: ConfigResult) => r.snapshot.services.map((s) => s.object.metadata.name);
const servicePorts = (r: ConfigResult) => r.snapshot.services.map((s) => s.object.spec?.ports?.[0]?.port);

describe('watchConfig on a file', () => {
  let file: string;
  beforeEach(async () => {
    file = join(tmp.dir, 'config.yaml');
    await writeFile(file, service('web'));
  });

  it('picks up an in-place write', async () => {
    const inbox = await watch(file);
    await writeFile(file, `${service('web')}---\n${ingress('web', 'example.com', 'web')}`);
    const result = await inbox.next();
    expect(result.diagnostics).toEqual([]);
    expect(result.files).toEqual([file]);
    expect(result.snapshot.ingresses.map((i) => i.object.metadata.name)).toEqual(['web']);
  });

  it('picks up a rename over the file (atomic write)', async () => {
    const inbox = await watch(file);
    const temp = join(tmp.dir, '.config.yaml.tmp');
    await writeFile(temp, service('web', 8080));
    await rename(temp, file);
    expect(servicePorts(await inbox.next())).toEqual([8080]);
    // Still watching the new inode afterwards.
    await writeFile(file, service('web', 8081));
    expect(servicePorts(await inbox.next())).toEqual([8081]);
  });

  it('picks up a ConfigMap volume update (..data symlink swap)', async () => {
    const volume = join(tmp.dir, 'volume');
    await mkdir(join(volume, '..v1'), { recursive: true });
    await writeFile(join(volume, '..v1', 'config.yaml'), service('web', 1));
    await symlink('..v1', join(volume, '..data'));
    await symlink('..data/config.yaml', join(volume, 'config.yaml'));
    const path = join(volume, 'config.yaml');
    const inbox = await watch(path);

    // What kubelet's AtomicWriter does: a new timestamped directory, then ..data_tmp renamed over ..data.
    await mkdir(join(volume, '..v2'));
    await writeFile(join(volume, '..v2', 'config.yaml'), service('web', 2));
    await symlink('..v2', join(volume, '..data_tmp'));
    await rename(join(volume, '..data_tmp'), join(volume, '..data'));
    await rm(join(volume, '..v1'), { recursive: true });
    expect(servicePorts(await inbox.next())).toEqual([2]);
  });

  it('debounces quick writes into one emit of the final content', async () => {
    const inbox = await watch(file);
    // Synchronous writes: no timer can fire in between, whatever the machine's load.
    for (let port = 1; port <= 5; port++) writeFileSync(file, service('web', port));
    expect(servicePorts(await inbox.next())).toEqual([5]);
    // A later change is the very next emit: nothing else came in between.
    await writeFile(file, service('web', 6));
    expect(servicePorts(await inbox.next())).toEqual([6]);
    expect(inbox.received.map(servicePorts)).toEqual([[5], [6]]);
  });

  it('reads each of changes 600 ms apart on its own, whatever the stat poll finds meanwhile', async () => {
    // The debounce (400 ms) ends 200 ms before the next change. The poll (every 450 ms) drifts by
    // 150 ms against the changes, so within 6 of them it lands 200-400 ms after one, inside its
    // debounce: it used to restart the debounce then, moving that change's read past the next change,
    // and the two were read as one (the yardstick's swaps: 150 ms apart, a 100 ms debounce).
    const inbox = await watch(file, { debounceMs: 400, pollMs: 450 });
    const writes = 6;
    for (let port = 1; port <= writes; port++) {
      await writeFile(file, service('web', port));
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    for (let i = inbox.received.length; i < writes; i++) await inbox.next();
    expect(inbox.received.map(servicePorts)).toEqual(Array.from({ length: writes }, (_, i) => [i + 1]));
  });

  it('emits nothing when the bytes did not change', async () => {
    const inbox = await watch(file);
    await writeFile(file, service('web'));
    const temp = join(tmp.dir, 'copy.yaml');
    await writeFile(temp, service('web'));
    await rename(temp, file);
    await writeFile(file, service('changed'));
    expect(serviceNames(await inbox.next())).toEqual(['changed']);
    expect(inbox.received).toHaveLength(1);
  });

  it('reports invalid YAML as error diagnostics, then recovers', async () => {
    const inbox = await watch(file);
    await writeFile(file, INVALID_YAML);
    const bad = await inbox.next();
    expect(bad.diagnostics.length).toBeGreaterThan(0);
    expect(bad.diagnostics.every((d) => d.severity === 'error' && d.file === file)).toBe(true);
    await writeFile(file, service('fixed'));
    const good = await inbox.next();
    expect(good.diagnostics).toEqual([]);
    expect(serviceNames(good)).toEqual(['fixed']);
  });

  it('reports a deleted file, and picks it up when it comes back', async () => {
    const inbox = await watch(file);
    await rm(file);
    const gone = await inbox.next();
    expect(gone.diagnostics).toEqual([expect.objectContaining({ severity: 'error', file })]);
    await writeFile(file, service('back'));
    expect(serviceNames(await inbox.next())).toEqual(['back']);
  });

  it('emits at once when the file changed since the baseline it was given', async () => {
    const { hash } = await loadConfig(file);
    await writeFile(file, service('meanwhile'));
    const inbox = new Inbox<ConfigResult>();
    watchers.push(watchConfig(file, inbox.push, { since: hash }));
    expect(serviceNames(await inbox.next())).toEqual(['meanwhile']);
  });

  it('does not emit its own first read without a baseline', async () => {
    const inbox = new Inbox<ConfigResult>();
    const watcher = watchConfig(file, inbox.push);
    watchers.push(watcher);
    await watcher.ready;
    await writeFile(file, service('next'));
    // The first emit is the change, not the content the watcher found at start.
    expect(serviceNames(await inbox.next())).toEqual(['next']);
    expect(inbox.received).toHaveLength(1);
  });

  it('stops emitting once closed', async () => {
    const inbox = new Inbox<ConfigResult>();
    const { hash } = await loadConfig(file);
    const closed = watchConfig(file, inbox.push, { since: hash });
    await closed.ready;
    const control = await watch(file);
    await closed.close();
    await writeFile(file, service('after-close'));
    // The control watcher, with the same debounce, sees the change: the closed one had its chance too.
    expect(serviceNames(await control.next())).toEqual(['after-close']);
    expect(inbox.received).toEqual([]);
  });

  it('survives an onChange that throws', async () => {
    const inbox = new Inbox<ConfigResult>();
    const { hash } = await loadConfig(file);
    let calls = 0;
    const warned = new Promise<void>((resolve) => process.once('warning', () => resolve()));
    watchers.push(
      watchConfig(
        file,
        (r) => {
          calls++;
          if (calls === 1) throw new Error('callback failed');
          inbox.push(r);
        },
        { since: hash },
      ),
    );
    await writeFile(file, service('one'));
    await warned;
    await writeFile(file, service('two'));
    expect(serviceNames(await inbox.next())).toEqual(['two']);
  });
});

describe('watchConfig on a directory', () => {
  beforeEach(async () => {
    await writeFile(join(tmp.dir, 'a.yaml'), service('a'));
  });

  it('picks up a new file', async () => {
    const inbox = await watch(tmp.dir);
    await writeFile(join(tmp.dir, 'b.yml'), service('b'));
    const result = await inbox.next();
    expect(serviceNames(result)).toEqual(['a', 'b']);
    expect(result.files).toEqual([join(tmp.dir, 'a.yaml'), join(tmp.dir, 'b.yml')]);
  });

  it('picks up a deleted file', async () => {
    await writeFile(join(tmp.dir, 'b.yaml'), service('b'));
    const inbox = await watch(tmp.dir);
    await rm(join(tmp.dir, 'a.yaml'));
    const result = await inbox.next();
    expect(serviceNames(result)).toEqual(['b']);
    expect(result.diagnostics).toEqual([]);
  });

  it('picks up an in-place write to one of its files', async () => {
    const inbox = await watch(tmp.dir);
    await writeFile(join(tmp.dir, 'a.yaml'), service('a', 81));
    expect(servicePorts(await inbox.next())).toEqual([81]);
  });

  it('ignores files that are not manifests', async () => {
    const inbox = await watch(tmp.dir);
    await writeFile(join(tmp.dir, 'README.md'), 'notes');
    await writeFile(join(tmp.dir, '.a.yaml.swp'), 'swap');
    await writeFile(join(tmp.dir, 'z.yaml'), service('z'));
    expect(serviceNames(await inbox.next())).toEqual(['a', 'z']);
    expect(inbox.received).toHaveLength(1);
  });

  it('picks up the directory replaced as a whole (stat poll)', async () => {
    const dir = join(tmp.dir, 'config');
    await mkdir(dir);
    await writeFile(join(dir, 'a.yaml'), service('old'));
    const inbox = await watch(dir, { pollMs: 100 });
    const next = join(tmp.dir, 'config.next');
    await mkdir(next);
    await writeFile(join(next, 'a.yaml'), service('new'));
    await rename(dir, join(tmp.dir, 'config.old'));
    await rename(next, dir);
    expect(serviceNames(await inbox.next())).toEqual(['new']);
    // The watch follows the new directory.
    await writeFile(join(dir, 'b.yaml'), service('b'));
    expect(serviceNames(await inbox.next())).toEqual(['new', 'b']);
  });
});
