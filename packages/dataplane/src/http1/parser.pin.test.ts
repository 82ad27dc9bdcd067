// Pins the private llhttp binding (`require('node:_http_common').HTTPParser`) that parser.ts relies on. When a
// Node upgrade changes it, these tests fail with a message saying what moved: fix parser.ts, then this.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { describe, it } from 'vitest';

const require = createRequire(import.meta.url);

function pin(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(
      `PRIVATE API CHANGED (Node ${process.version}): ${what}. packages/dataplane/src/http1/parser.ts ` +
        'depends on the shape of _http_common.HTTPParser pinned here: adapt it before upgrading Node.',
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the private binding is untyped on purpose here
type Any = any;
const isError = (x: Any): boolean => x instanceof Error;

describe('pinned private API: _http_common.HTTPParser (Node llhttp binding)', () => {
  const common: Any = require('node:_http_common');
  const P: Any = common.HTTPParser;

  it('is exported by _http_common with its methods table', () => {
    pin(typeof P === 'function', '_http_common.HTTPParser is no longer a constructor');
    pin(Array.isArray(common.methods) && common.methods.includes('GET'), '_http_common.methods is gone');
  });

  it('maps every method node:http accepts to its own name (parser.ts derives the llhttp index table)', async () => {
    const { METHODS } = await import('./parser.js');
    const { METHODS: nodeMethods } = await import('node:http');
    for (const name of nodeMethods) {
      pin(METHODS.includes(name), `no llhttp method index found for ${name}`);
    }
  });

  it('has the constants and callback slots parser.ts uses', () => {
    const expected: Record<string, number> = {
      REQUEST: 1,
      RESPONSE: 2,
      kOnMessageBegin: 0,
      kOnHeaders: 1,
      kOnHeadersComplete: 2,
      kOnBody: 3,
      kOnMessageComplete: 4,
      kOnExecute: 5,
      kLenientNone: 0,
    };
    for (const [name, value] of Object.entries(expected)) {
      pin(P[name] === value, `HTTPParser.${name} is ${P[name]}, expected ${value}`);
    }
  });

  it('has initialize/execute/finish/free/close/pause/resume methods', () => {
    for (const m of ['initialize', 'execute', 'finish', 'free', 'close', 'pause', 'resume']) {
      pin(typeof P.prototype[m] === 'function', `HTTPParser.prototype.${m} is missing`);
    }
  });

  function record(type: number, maxHeaderSize = 0): { p: Any; events: Any[] } {
    const p = new P();
    const events: Any[] = [];
    p[P.kOnMessageBegin] = (...a: Any[]) => events.push(['begin', a.length]);
    p[P.kOnHeaders] = (...a: Any[]) => events.push(['headers', ...a]);
    p[P.kOnHeadersComplete] = (...a: Any[]) => {
      events.push(['complete', ...a]);
      return 0;
    };
    p[P.kOnBody] = (...a: Any[]) => events.push(['body', a.length, String(a[0])]);
    p[P.kOnMessageComplete] = (...a: Any[]) => events.push(['message', a.length]);
    p.initialize(type, {}, maxHeaderSize, P.kLenientNone);
    return { p, events };
  }

  it('calls kOnHeadersComplete(major, minor, headers, methodIndex, url, status, message, upgrade, keepAlive)', () => {
    const { p, events } = record(P.REQUEST);
    const req = Buffer.from('PUT /a?b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok');
    const n = p.execute(req);
    pin(n === req.length, `execute() returned ${n}, expected the byte count ${req.length}`);
    const complete = events.find((e) => e[0] === 'complete');
    pin(complete !== undefined, 'kOnHeadersComplete was not called');
    const [, major, minor, headers, method, url, status, message, upgrade, keepAlive] = complete;
    pin(major === 1 && minor === 1, `version arguments moved: ${major}, ${minor}`);
    pin(
      JSON.stringify(headers) === JSON.stringify(['Host', 'h', 'X-A', '1', 'Content-Length', '2']),
      `headers argument (3rd) moved: ${JSON.stringify(headers)}`,
    );
    pin(common.methods[method] === 'PUT', `method index argument (4th) moved: ${method}`);
    pin(url === '/a?b', `url argument (5th) moved: ${url}`);
    pin(status == null && message == null, `status arguments of a request not empty: ${status}, ${message}`);
    pin(
      upgrade === false && keepAlive === true,
      `upgrade/shouldKeepAlive (8th, 9th) moved: ${upgrade}, ${keepAlive}`,
    );
    pin(
      JSON.stringify(events.map((e) => e[0])) === JSON.stringify(['begin', 'complete', 'body', 'message']),
      `callback order changed: ${JSON.stringify(events)}`,
    );
    const body = events.find((e) => e[0] === 'body');
    pin(body[1] === 1 && body[2] === 'ok', `kOnBody no longer gets one Buffer: ${JSON.stringify(body)}`);
    p.free();
  });

  it('passes status and reason of responses, and 1 from kOnHeadersComplete skips the body', () => {
    const { p, events } = record(P.RESPONSE);
    p[P.kOnHeadersComplete] = (...a: Any[]) => {
      events.push(['complete', ...a]);
      return 1;
    };
    const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.0 404 Nope\r\n\r\n');
    const n = p.execute(res);
    pin(n === res.length, `execute() of a HEAD response returned ${JSON.stringify(n)}`);
    const completes = events.filter((e) => e[0] === 'complete');
    pin(completes[0]?.[6] === 200 && completes[0]?.[7] === 'OK', 'status/message arguments (6th, 7th) moved');
    pin(completes[1]?.[2] === 0 && completes[1]?.[9] === false, 'HTTP/1.0 response keep-alive flag moved');
    pin(!events.some((e) => e[0] === 'body'), 'returning 1 no longer skips the body');
    p.free();
  });

  it('stops execute() at a head when kOnHeadersComplete returns 2: no body, nothing after it', () => {
    // server-connection.ts and upstream-pool.ts return 2 for a head over the field count limit.
    const { p, events } = record(P.REQUEST);
    p[P.kOnHeadersComplete] = (...a: Any[]) => {
      events.push(['complete', ...a]);
      return 2;
    };
    const head = 'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n';
    const data = Buffer.from(`${head}abcGET /b HTTP/1.1\r\nHost: a\r\n\r\n`);
    const n = p.execute(data);
    pin(n === head.length, `execute() after a 2 from kOnHeadersComplete returned ${JSON.stringify(n)}`);
    pin(!events.some((e) => e[0] === 'body'), 'returning 2 no longer skips the body');
    pin(events.filter((e) => e[0] === 'complete').length === 1, 'returning 2 no longer stops at the head');
    p.free();
  });

  it('delivers trailers through kOnHeaders(headers, url) before kOnMessageComplete', () => {
    const { p, events } = record(P.REQUEST);
    p.execute(
      Buffer.from(
        'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: v\r\n\r\n',
      ),
    );
    const i = events.findIndex((e) => e[0] === 'headers');
    pin(
      i >= 0 && JSON.stringify(events[i][1]) === '["T","v"]',
      `trailers not via kOnHeaders: ${JSON.stringify(events)}`,
    );
    pin(events[i + 1]?.[0] === 'message', 'kOnMessageComplete no longer follows the trailers');
    p.free();
  });

  it('flushes more than 32 header fields through kOnHeaders, then passes undefined to kOnHeadersComplete', () => {
    const { p, events } = record(P.REQUEST);
    let head = 'GET /many HTTP/1.1\r\nHost: h\r\n';
    for (let i = 0; i < 40; i++) head += `X-${i}: ${i}\r\n`;
    p.execute(Buffer.from(`${head}\r\n`));
    const flushed = events.filter((e) => e[0] === 'headers').reduce((n, e) => n + e[1].length, 0);
    const complete = events.find((e) => e[0] === 'complete');
    pin(flushed > 0 && complete[3] == null && complete[5] == null, 'early header flush protocol changed');
    p.free();
  });

  it('fails strictly: HPE_HEADER_OVERFLOW past maxHeaderSize, HPE_CLOSED_CONNECTION after Connection: close', () => {
    let { p } = record(P.REQUEST, 64);
    const over = p.execute(Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(100)}\r\n\r\n`));
    pin(isError(over) && over.code === 'HPE_HEADER_OVERFLOW', `header overflow: ${over?.code}`);
    pin(
      typeof over.bytesParsed === 'number' && typeof over.reason === 'string',
      'error lost bytesParsed/reason',
    );
    p.free();
    ({ p } = record(P.REQUEST));
    const closed = p.execute(
      Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n'),
    );
    pin(isError(closed) && closed.code === 'HPE_CLOSED_CONNECTION', `data after close: ${closed}`);
    p.free();
    ({ p } = record(P.REQUEST));
    const both = p.execute(
      Buffer.from('GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'),
    );
    pin(isError(both) && both.code === 'HPE_INVALID_TRANSFER_ENCODING', `CL+TE accepted: ${both}`);
    p.free();
  });

  it('stops execute() at the end of an upgrade head and resumes HTTP parsing on the next call', () => {
    const { p, events } = record(P.REQUEST);
    const up = Buffer.from(
      'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nRAW',
    );
    const n = p.execute(up);
    pin(n === up.length - 3, `upgrade: execute() returned ${n}, expected ${up.length - 3}`);
    pin(events.find((e) => e[0] === 'complete')?.[8] === true, 'upgrade argument (8th) not true');
    pin(
      p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\n')) === 27,
      'parsing after an upgrade head changed',
    );
    p.free();
  });

  it('reports a body cut short from finish(), and completes a close-delimited body', () => {
    let { p, events } = record(P.RESPONSE);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'));
    const cut = p.finish();
    pin(isError(cut) && cut.code === 'HPE_INVALID_EOF_STATE', `finish() on a cut body: ${cut}`);
    p.free();
    ({ p, events } = record(P.RESPONSE));
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabc'));
    pin(
      p.finish() === undefined && events.at(-1)[0] === 'message',
      'finish() no longer ends a close-delimited body',
    );
    p.free();
  });

  it('does not stop a running execute() when pause() is called from a callback (parser.ts assumes so)', () => {
    const { p, events } = record(P.REQUEST);
    p[P.kOnMessageComplete] = () => {
      events.push(['message']);
      p.pause();
    };
    const two = Buffer.from('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
    const n = p.execute(two);
    p.resume();
    pin(
      n === two.length && events.filter((e) => e[0] === 'message').length === 2,
      'pause() inside a callback now stops execute(): parser.ts could pause mid-buffer instead of queueing',
    );
    p.free();
  });

  it("consume(handle) parses a socket's reads in C++, calls kOnExecute, and gives EOF to the socket", async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = await accepted;
    try {
      const handle: Any = (client as Any)._handle;
      pin(handle?.isStreamBase === true, 'net.Socket._handle.isStreamBase is not true any more');
      pin(
        typeof handle.readStop === 'function' && typeof handle.readStart === 'function',
        'handle.readStop/readStart moved',
      );
      pin(handle.reading === true, 'net.Socket._handle.reading (the flag tryReadStart keeps) is gone');
      const { p, events } = record(P.RESPONSE);
      const executed: Any[] = [];
      const firstRead = new Promise<void>((resolve) => {
        p[P.kOnExecute] = (ret: Any) => {
          executed.push([ret, p.getCurrentBuffer().toString('latin1')]);
          resolve();
        };
      });
      pin(typeof p.consume === 'function' && typeof p.unconsume === 'function', 'consume/unconsume are gone');
      pin(typeof p.getCurrentBuffer === 'function', 'getCurrentBuffer is gone');
      p.consume(handle);
      let dataEvents = 0;
      client.on('data', () => dataEvents++);
      const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
      peer.write(response);
      await firstRead;
      pin(
        executed[0][0] === response.length && executed[0][1] === response,
        `kOnExecute got ${JSON.stringify(executed[0])}, not (bytes parsed, the read) for a consumed read`,
      );
      pin(
        events.some((e) => e[0] === 'message'),
        'a consumed read did not reach kOnMessageComplete',
      );
      pin(dataEvents === 0, "a consumed socket still emitted 'data'");
      const ended = once(client, 'end');
      peer.end();
      // A consumed socket that never saw its end would hang here: the test times out.
      await ended;
      p.unconsume();
      p.free();
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });
});
