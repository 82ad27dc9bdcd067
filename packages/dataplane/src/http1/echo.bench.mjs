// Micro-benchmark: the http1 transport (ServerConnection + UpstreamPool) as a minimal proxy, against a
// node:http proxy (http.createServer + http.request with a keep-alive Agent), both in front of the same
// node:http backend, loaded with wrk. Needs `pnpm run build` first (it imports dist/) and wrk on PATH.
//   node packages/dataplane/src/http1/echo.bench.mjs [seconds=10] [connections=64]
// Each proxy and the backend run in their own process; the numbers are only comparable within one run.
import { execFileSync, fork } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const dist = new URL('../../dist/http1/', import.meta.url);
const BACKEND = { address: '127.0.60.20', port: 0 };
const role = process.argv[2];

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
]);

async function transportProxy(backendPort) {
  const { ServerConnection } = await import(new URL('server-connection.js', dist));
  const { UpstreamPool } = await import(new URL('upstream-pool.js', dist));
  const pool = new UpstreamPool();
  const target = { address: BACKEND.address, port: backendPort };

  // One object per request is the handler of both sides: no closures per request.
  class Relay {
    constructor(ex) {
      this.ex = ex;
      this.controller = null;
      let bodyLength = 0;
      const out = [];
      const raw = ex.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i];
        const lower = name.length <= 17 ? name.toLowerCase() : name;
        if (lower === 'content-length') bodyLength = Number(raw[i + 1]);
        else if (lower === 'transfer-encoding') bodyLength = -1;
        else if (!HOP.has(lower)) out.push(name, raw[i + 1]);
      }
      out.push('X-Forwarded-For', ex.connection.socket.remoteAddress ?? '');
      ex.listen(this);
      this.controller = pool.dispatch(
        target,
        { method: ex.method, path: ex.url, headers: out, bodyLength },
        bodyLength !== 0 ? this : null,
        this,
      );
    }
    // DispatchHandler
    onHead(status, raw) {
      let length = -1;
      const out = [];
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i];
        const lower = name.length <= 17 ? name.toLowerCase() : name;
        if (lower === 'content-length') length = Number(raw[i + 1]);
        else if (!HOP.has(lower)) out.push(name, raw[i + 1]);
      }
      out.push('Server', 'gateway');
      this.ex.writeHead(status, out, length);
    }
    onData(chunk) {
      return this.ex.write(chunk);
    }
    onEnd(trailers) {
      this.ex.end(trailers);
    }
    onError() {
      if (this.ex.status === 0) {
        this.ex.writeHead(502, ['Content-Type', 'text/plain'], 4);
        this.ex.write('502\n');
        this.ex.end();
      } else this.ex.destroy();
    }
    // RequestBodySource
    start() {
      this.ex.readBody();
    }
    pause() {
      this.ex.pauseBody();
    }
    resume() {
      this.ex.resumeBody();
    }
    abort() {}
    // ExchangeListener
    onBodyData(_ex, chunk) {
      this.controller.writeBody(chunk);
    }
    onBodyEnd(_ex, trailers) {
      this.controller.endBody(trailers);
    }
    onDrain() {
      this.controller.resume();
    }
    onAbort() {
      this.controller.abort();
    }
  }
  const handler = { onRequest: (ex) => new Relay(ex) };
  const server = net.createServer(
    { allowHalfOpen: true, noDelay: true },
    (socket) => new ServerConnection(socket, handler),
  );
  return server;
}

function nodeHttpProxy(backendPort) {
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 320 });
  return http.createServer((req, res) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    const up = http.request(
      { host: BACKEND.address, port: backendPort, method: req.method, path: req.url, headers, agent },
      (r) => {
        const out = {};
        for (const [k, v] of Object.entries(r.headers)) if (!HOP.has(k)) out[k] = v;
        out.server = 'gateway';
        res.writeHead(r.statusCode, out);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end('502\n');
      else res.destroy();
    });
    req.pipe(up);
  });
}

async function serve(server, host) {
  await new Promise((r) => server.listen(0, host, r));
  process.send?.({ port: server.address().port });
}

if (role === 'backend') {
  const body = Buffer.from('hello from the backend\n');
  await serve(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      res.end(body);
    }),
    BACKEND.address,
  );
} else if (role === 'transport') {
  await serve(await transportProxy(Number(process.argv[3])), '127.0.60.21');
} else if (role === 'node-http') {
  await serve(nodeHttpProxy(Number(process.argv[3])), '127.0.60.22');
} else {
  const seconds = process.argv[2] ?? '10';
  const connections = process.argv[3] ?? '64';
  const start = (args) =>
    new Promise((resolve) => {
      const child = fork(here, args, { stdio: 'inherit' });
      child.once('message', (m) => resolve({ child, port: m.port }));
    });
  const wrk = (url, secs = seconds) => {
    const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${secs}s`, '--latency', url], {
      encoding: 'utf8',
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const p99 = /99%\s+(\S+)/.exec(out)?.[1] ?? '?';
    const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? 'none';
    return { rps, p99, errors };
  };
  const backend = await start(['backend']);
  const results = {};
  for (const [name, host] of [
    ['node-http', '127.0.60.22'],
    ['transport', '127.0.60.21'],
  ]) {
    const proxy = await start([name, String(backend.port)]);
    const url = `http://${host}:${proxy.port}/bench`;
    const check = await fetch(url);
    if (check.status !== 200 || (await check.text()) !== 'hello from the backend\n')
      throw new Error(`${name} broken`);
    wrk(url, '2'); // warm-up, discarded
    results[name] = wrk(url);
    proxy.child.kill();
  }
  backend.child.kill();
  console.log(
    JSON.stringify({ seconds: Number(seconds), connections: Number(connections), ...results }, null, 2),
  );
  console.log(`transport / node:http = ${(results.transport.rps / results['node-http'].rps).toFixed(2)}x`);
}
