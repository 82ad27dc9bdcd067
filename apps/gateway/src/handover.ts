// How a configuration's bytes reach the workers without a copy per worker in the primary: written once
// to a file of a private directory (mkdtemp: mode 0700, readable by this user alone; on /dev/shm where
// there is one, so memory and no disk), and only the file's name, length and digest cross the IPC
// channel. The channel would otherwise serialize the 12 MB of 10,000 Ingresses again for each worker
// and hold each copy in the primary until that worker had read it. Each worker reads the file and checks
// it against the digest before it deserializes it; the primary deletes the file once no worker needs
// it, and the directory when it stops (or exits).
//
// Where no file can be written (a read-only or full filesystem), the bytes go inline over the channel,
// as before: slower and larger, but served.
import { hash } from 'node:crypto';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** `ingress-gateway-PID-XXXXXX`: a directory of the primary PID. */
const DIRECTORY = /^ingress-gateway-(\d+)-[A-Za-z0-9]{6}$/;
/** The directories of this process's HandoverDirs, open now. */
const ours = new Set<string>();

/** A file written for the workers: its path, and what a reader checks it against. */
export interface HandedOver {
  readonly file: string;
  readonly length: number;
  /** sha256, hex. */
  readonly sha256: string;
}

/** The bytes of a configuration as a message carries them: a file's reference, or the bytes themselves. */
export type PayloadBytes = { readonly handover: HandedOver } | { readonly bytes: Uint8Array };

/** Where the private directory is made: /dev/shm (memory) first, then the system's temporary directory. */
export function handoverBases(): string[] {
  const bases: string[] = [];
  try {
    if (statSync('/dev/shm').isDirectory()) bases.push('/dev/shm');
  } catch {}
  bases.push(tmpdir());
  return bases;
}

export class HandoverDir {
  #dir: string | undefined;
  #failing = false;
  #closed = false;
  #count = 0;
  readonly #onExit = (): void => this.close();

  constructor(
    private readonly log: Logger,
    private readonly bases: readonly string[] = handoverBases(),
  ) {}

  /** The directory, once a file was written (for logs and tests). */
  get directory(): string | undefined {
    return this.#dir;
  }

  /**
   * Writes `bytes` to a new file (mode 0600, never over an existing one); undefined when no file could be
   * written, and the caller sends the bytes inline.
   */
  write(bytes: Uint8Array): HandedOver | undefined {
    if (this.#closed) return undefined;
    let file: string | undefined;
    try {
      const dir = this.#ensureDir();
      file = join(dir, `config-${++this.#count}.bin`);
      writeFileSync(file, bytes, { flag: 'wx', mode: 0o600 });
      if (this.#failing) this.log.info({ dir }, 'workers: configuration files written again');
      this.#failing = false;
      return { file, length: bytes.byteLength, sha256: hash('sha256', bytes, 'hex') };
    } catch (err) {
      if (file !== undefined) this.remove(file);
      if (!this.#failing) {
        this.log.warn(
          { err, dir: this.#dir ?? this.bases.join(', ') },
          'workers: cannot write a configuration file; sending it over the IPC channel instead',
        );
      }
      this.#failing = true;
      return undefined;
    }
  }

  remove(file: string): void {
    try {
      unlinkSync(file);
    } catch {
      // Gone already (the directory was removed): nothing to do.
    }
  }

  /** Removes the directory and every file in it; nothing is written after this. */
  close(): void {
    this.#closed = true;
    process.removeListener('exit', this.#onExit);
    if (this.#dir === undefined) return;
    try {
      rmSync(this.#dir, { recursive: true, force: true });
    } catch {}
    ours.delete(this.#dir);
    this.#dir = undefined;
  }

  #ensureDir(): string {
    if (this.#dir !== undefined) return this.#dir;
    let last: unknown;
    for (const base of this.bases) {
      try {
        removeStale(base);
        // mkdtemp makes the directory with mode 0700: no other user may list or read it.
        this.#dir = mkdtempSync(join(base, `ingress-gateway-${process.pid}-`));
        ours.add(this.#dir);
        process.on('exit', this.#onExit);
        this.log.info({ dir: this.#dir }, 'workers: configuration files in a private directory');
        return this.#dir;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }
}

/**
 * Removes the directories a primary that was killed (SIGKILL, the OOM killer) left behind: this user's,
 * named for a process that is gone (or for this one, which has not made it). On /dev/shm they would
 * hold memory until the pod goes; in a container the dead primary's pid is often the new one's.
 */
export function removeStale(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = DIRECTORY.exec(name)?.[1];
    if (pid === undefined || (Number(pid) !== process.pid && alive(Number(pid)))) continue;
    const path = join(base, name);
    if (ours.has(path)) continue;
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {}
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The bytes of `ref`: read and checked against its length and digest (a file cut short, changed or gone
 * throws, and the worker keeps what it serves).
 */
export function readPayloadBytes(ref: PayloadBytes): Uint8Array {
  if ('bytes' in ref) return ref.bytes;
  const { file, length, sha256 } = ref.handover;
  const bytes = readFileSync(file);
  if (bytes.byteLength !== length) {
    throw new Error(`configuration file ${file}: ${bytes.byteLength} bytes, expected ${length}`);
  }
  if (hash('sha256', bytes, 'hex') !== sha256) {
    throw new Error(`configuration file ${file}: its digest is not the one the primary sent`);
  }
  return bytes;
}
