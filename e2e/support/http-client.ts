// Small real clients for the e2e tests.
import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  port: number,
  opts: {
    host?: string;
    path?: string;
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer;
    agent?: http.Agent | false;
    /** A distinct client IP on loopback (e.g. 127.0.31.1). */
    localAddress?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        localAddress: opts.localAddress,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function httpsRequest(
  port: number,
  opts: { servername?: string; host?: string; path?: string; ca?: string } = {},
): Promise<Answer & { peerCertificate: import('node:tls').PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        servername: opts.servername,
        headers: { host: opts.host ?? opts.servername ?? '127.0.0.1' },
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const peerCertificate = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body, peerCertificate }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
