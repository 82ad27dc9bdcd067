#!/usr/bin/env node
// Entry point: `node apps/gateway/dist/cli.js --config PATH [flags]` (see flags.ts and --help).
import cluster from 'node:cluster';
import { isSea } from 'node:sea';
import { pino } from 'pino';
import { EXIT_INVALID, FlagError, HELP, parseFlags } from './flags.js';
import type { SourceSetup } from './gateway.js';
import { unsupportedNode } from './node-version.js';
import { OutputWriter } from './output-writer.js';

async function main(argv: readonly string[]): Promise<number | undefined> {
  const unsupported = unsupportedNode(process.version);
  if (unsupported !== undefined) {
    process.stderr.write(`ingress-gateway: ${unsupported}\n`);
    return 1;
  }
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`ingress-gateway: ${err.message}\n\n${HELP}`);
    return EXIT_INVALID;
  }
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (cluster.isWorker) {
    // Forked by the primary with the same flags (--workers N, N > 1): serve what it sends.
    const { runWorker } = await import('./worker.js');
    runWorker(flags);
    return undefined;
  }
  // Loaded here, not by workers: they need neither the sources nor translate.
  const { check, sourceFor, startGateway } = await import('./gateway.js');
  const destination = new OutputWriter(1);
  const log = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  let source: SourceSetup;
  try {
    source = await sourceFor(flags, log);
  } catch (err) {
    process.stderr.write(`ingress-gateway: ${(err as Error).message}\n`);
    return EXIT_INVALID;
  }
  if (flags.check) {
    const code = await check(flags, (line) => process.stdout.write(`${line}\n`), log, source);
    destination.flushSync();
    // The API client's pooled keep-alive connections would hold the process open for a while.
    process.stdout.write('', () => process.exit(code));
    return undefined;
  }
  const gateway = await startGateway(flags, log, destination, source);
  if (typeof gateway === 'number') {
    destination.flushSync();
    return gateway;
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    gateway.stop().then(
      () => {
        log.info('stopped');
        destination.flushSync();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        destination.flushSync();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return undefined;
}

/**
 * The flags. A worker of a single executable is started as `BINARY BINARY FLAGS…` (cluster puts its
 * module path before the flags, and the executable is that path), which Node presents as
 * `[BINARY, BINARY, BINARY, FLAGS…]`: one path too many.
 */
function flagArgs(): string[] {
  const args = process.argv.slice(2);
  if (cluster.isWorker && isSea() && args[0] === process.execPath) args.shift();
  return args;
}

main(flagArgs()).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ingress-gateway: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
    // A gateway that could not start (a port in use…) must not linger: its source may hold the event
    // loop open. A moment for the log lines still being written.
    setTimeout(() => process.exit(1), 100).unref();
  },
);
