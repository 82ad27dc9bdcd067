// Black-box: SNI certificate selection, the default certificate and the 308 redirect to https.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startPods } from './support/backends.js';
import { certificateFor } from './support/certificates.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { httpsRequest, request } from './support/http-client.js';
import { ingress, service, slice, tempConfig, tlsSecret } from './support/manifests.js';

let gw: GatewayProcess;
let pods: Awaited<ReturnType<typeof startPods>>;

beforeAll(async () => {
  pods = await startPods('app', ['127.0.5.1', '127.0.5.2']);
  const exact = await certificateFor(['secure.example.test']);
  const wildcard = await certificateFor(['*.wild.example.test']);
  const { file } = await tempConfig([
    service('shop', 'app'),
    slice(
      'shop',
      'app',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    tlsSecret('shop', 'secure-tls', exact.cert, exact.key),
    tlsSecret('shop', 'wild-tls', wildcard.cert, wildcard.key),
    ingress(
      'shop',
      'secure',
      [
        { host: 'secure.example.test', service: 'app' },
        { host: '*.wild.example.test', service: 'app' },
        { host: 'plain.example.test', service: 'app' },
      ],
      {
        tls: [
          { hosts: ['secure.example.test'], secretName: 'secure-tls' },
          { hosts: ['*.wild.example.test'], secretName: 'wild-tls' },
        ],
      },
    ),
  ]);
  gw = await startGateway(['--config', file, '--redirect-https-port', '30443']);
});

afterAll(async () => {
  await gw?.stop();
  await pods?.close();
});

describe('TLS', () => {
  it('selects the certificate of the Secret by SNI (exact host)', async () => {
    const r = await httpsRequest(gw.https, { servername: 'secure.example.test' });
    expect(r.status).toBe(200);
    expect(r.peerCertificate.subject.CN).toBe('secure.example.test');
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-forwarded-proto']).toBe(
      'https',
    );
  });

  it('selects a wildcard certificate for one label below it', async () => {
    const r = await httpsRequest(gw.https, { servername: 'shop.wild.example.test' });
    expect(r.peerCertificate.subject.CN).toBe('*.wild.example.test');
  });

  it('gives the self-signed default certificate to an unknown SNI and to none', async () => {
    const unknown = await httpsRequest(gw.https, { servername: 'other.test', host: 'plain.example.test' });
    expect(unknown.peerCertificate.subject.CN).not.toMatch(/example\.test/);
    expect(unknown.status).toBe(200);
    const none = await httpsRequest(gw.https, { host: 'plain.example.test' });
    expect(none.peerCertificate.subject.CN).toBe(unknown.peerCertificate.subject.CN);
  });

  it('redirects plain HTTP to a TLS host with 308 to the same URL on https', async () => {
    const r = await request(gw.http, { host: 'secure.example.test', path: '/a/b?c=d' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://secure.example.test:30443/a/b?c=d');
    expect(r.headers.server).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('serves a host without TLS on plain HTTP', async () => {
    expect((await request(gw.http, { host: 'plain.example.test' })).status).toBe(200);
  });

  it('proxies WebSocket upgrades on the HTTPS port', async () => {
    // ws hands these options to https.request, which takes the TLS servername (ws's types omit it).
    const ws = new WebSocket(`wss://127.0.0.1:${gw.https}/ws`, {
      servername: 'secure.example.test',
      headers: { host: 'secure.example.test' },
      rejectUnauthorized: false,
    } as WebSocket.ClientOptions);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hello');
    const data = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    expect(data).toMatch(/^app-\d:hello$/);
    ws.close();
  });
});
