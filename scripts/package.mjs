// `pnpm package`: one self-contained executable, dist/ingress-gateway, as a Node.js single executable
// application (SEA): the built CLI (apps/gateway/dist/cli.js) and all its dependencies bundled by esbuild
// into one CommonJS file, turned into a SEA blob by the running node, and injected with postject into a
// copy of that same node binary. Run after `pnpm install --frozen-lockfile && pnpm run build`.
//
//   node scripts/package.mjs [--entry FILE] [--out FILE] [--resolve-from DIR] [--code-cache]
//
// --entry         what to bundle (default apps/gateway/dist/cli.js)
// --out           the executable to write (default dist/ingress-gateway); intermediates go to OUT.sea/
// --resolve-from  also resolve bare imports from DIR/node_modules (for entries outside a workspace package,
//                 such as packaging/client-node-smoke.mjs)
// --code-cache    embed V8's code cache: ~50 ms faster start, ~0.4 MB bigger, but the bytes then differ
//                 from build to build; without it the same inputs give the same executable
//
// Facts of Node 24 this relies on: SEA blobs come only from `node --experimental-sea-config` (no
// `--build-sea`), the embedded main script must be CommonJS (the config has no `mainFormat`), and its
// `require` loads built-in modules only, so everything else must be inside the bundle.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, stripVTControlCharacters } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Optional dependencies that are absent here and must stay absent: each `require` of them sits in a
 * try/catch. Inside a SEA such a require would print a warning about non-built-in modules before throwing,
 * so the bundle gets a stub that throws MODULE_NOT_FOUND as a missing package does. */
const OPTIONAL_ABSENT = ['bufferutil', 'utf-8-validate', 'supports-color'];

const { values: opts } = parseArgs({
  options: {
    entry: { type: 'string', default: 'apps/gateway/dist/cli.js' },
    out: { type: 'string', default: 'dist/ingress-gateway' },
    'resolve-from': { type: 'string' },
    'code-cache': { type: 'boolean', default: false },
  },
});
const entry = resolve(ROOT, opts.entry);
const out = resolve(ROOT, opts.out);
const work = `${out}.sea`;
const started = performance.now();
const rel = (p) => relative(process.cwd(), p) || '.';
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const fail = (msg) => {
  process.stderr.write(`package: ${msg}\n`);
  process.exit(1);
};

if (!existsSync(entry)) fail(`${rel(entry)} does not exist; run \`pnpm run build\` first`);
const node = process.execPath;
if (!readFileSync(node).includes(`${FUSE}:0`)) {
  fail(`${node} has no unflipped SEA fuse (not an official Node.js build, or itself a SEA)`);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const bundle = join(work, 'main.cjs');

// 1. One CommonJS file with everything but Node's built-in modules.
const plugins = [
  {
    name: 'optional-absent',
    setup(build) {
      const filter = new RegExp(`^(${OPTIONAL_ABSENT.join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'optional-absent' }));
      build.onLoad({ filter: /.*/, namespace: 'optional-absent' }, (args) => ({
        contents: `throw Object.assign(new Error("Cannot find module '${args.path}'"), { code: 'MODULE_NOT_FOUND' });`,
        loader: 'js',
      }));
    },
  },
  {
    // ajv-formats-draft2019 depends on the npm package punycode and requires it as 'punycode', which Node
    // resolves to its deprecated built-in; bundled, the call no longer comes from node_modules, so the
    // built-in would print DEP0040 at every start. Bundle the npm package it declares instead.
    name: 'punycode-package',
    setup(build) {
      build.onResolve({ filter: /^punycode$/ }, (args) =>
        build.resolve('punycode/', { kind: args.kind, resolveDir: args.resolveDir }),
      );
    },
  },
];
const result = await esbuild
  .build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    nodePaths: opts['resolve-from'] ? [resolve(ROOT, opts['resolve-from'], 'node_modules')] : [],
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    // import.meta is empty in CommonJS output: a module that reads files beside itself (import.meta.url) has
    // no such files next to a single executable either, so that is an error here, not a warning.
    logOverride: { 'empty-import-meta': 'error' },
    plugins,
  })
  // esbuild has printed the errors already.
  .catch(() => fail(`bundling ${rel(entry)} failed`));
const externals = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external));
const foreign = [...new Set(externals.map((i) => i.path).filter((p) => !isBuiltin(p)))];
if (foreign.length > 0) {
  fail(`the bundle still requires non-built-in modules, which a SEA cannot load: ${foreign.join(', ')}`);
}
const bundleSize = statSync(bundle).size;

// 2. The SEA blob, made by the same node binary that will carry it.
const seaConfig = join(work, 'sea-config.json');
const blob = join(work, 'sea-prep.blob');
writeFileSync(
  seaConfig,
  `${JSON.stringify(
    {
      // Relative, and the blob made from inside `work`: the blob records the main script's path.
      main: basename(bundle),
      output: basename(blob),
      disableExperimentalSEAWarning: true,
      // As the image's ENTRYPOINT: a young generation V8 would otherwise grow to 128 MB (README, memory);
      // scavenges on the serving thread alone (worker-fleet.ts, WORKER_V8_FLAGS).
      execArgv: ['--max-semi-space-size=8', '--no-parallel-scavenge'],
      useSnapshot: false,
      useCodeCache: opts['code-cache'],
    },
    null,
    2,
  )}\n`,
);
const made = spawnSync(node, ['--experimental-sea-config', seaConfig], { cwd: work, encoding: 'utf8' });
if (made.status !== 0) fail(`node --experimental-sea-config failed:\n${made.stdout}${made.stderr}`);

// 3. A copy of node with the blob injected; written beside the output and renamed, so that an interrupted
// build never leaves a half-made executable under the output name.
const partial = join(work, 'ingress-gateway.partial');
copyFileSync(node, partial);
chmodSync(partial, 0o755);
const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
const injected = spawnSync(node, [postject, partial, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
  encoding: 'utf8',
});
// LIEF, inside postject, warns about ELF note sections it cannot name; those warnings are harmless.
const noise = /^warning: Can't find string offset for section name|Start injection|Injection done|^\s*$/;
const said = `${injected.stdout}${injected.stderr}`
  .split('\n')
  .filter((l) => !noise.test(stripVTControlCharacters(l)));
if (injected.status !== 0) fail(`postject failed:\n${said.join('\n')}`);
if (said.length > 0) process.stderr.write(`${said.join('\n')}\n`);
mkdirSync(dirname(out), { recursive: true });
renameSync(partial, out);

const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `package: ${rel(out)} ${mb(statSync(out).size)} (bundle ${mb(bundleSize)}, node ${process.version} ` +
    `${process.platform}-${process.arch}${opts['code-cache'] ? ', code cache' : ''}) in ${seconds} s\n`,
);
