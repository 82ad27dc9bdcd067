#!/usr/bin/env node
// Entry point: `node apps/gateway/dist/cli.js --config PATH [flags]` (see flags.ts and --help).
import { pino } from 'pino';
import { FlagError, HELP, parseFlags } from './flags.js';
import { check, EXIT_INVALID, type SourceSetup, sourceFor, startGateway } from './gateway.js';

async function main(argv: readonly string[]): Promise<number | undefined> {
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
  const destination = pino.destination({ fd: 1, sync: false });
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ingress-gateway: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
