import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiServerFixture } from '@gateway/api-server-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { KubeAccess, loadKubeConfig } from './kube-config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-kubeconfig-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A self-signed EC certificate (also its own CA) for `cn`, valid for 127.0.0.1. */
function selfSigned(name: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('loadKubeConfig', () => {
  it('a token user over plain HTTP with insecure-skip-tls-verify: lists through the fixture as that user', async () => {
    const api = await ApiServerFixture.start({ objects: [], tokens: { 'tok-1': 'alice' } });
    try {
      const path = await api.writeKubeconfig(dir, { token: 'tok-1', namespace: 'gw', fileName: 'plain' });
      const { kubeConfig, namespace } = await loadKubeConfig({ path });
      expect(kubeConfig).toBeInstanceOf(KubeAccess);
      expect(namespace).toBe('gw');
      const list = await new ApiClient(kubeConfig).request<{ items: unknown[] }>(
        'GET',
        '/api/v1/services',
        'list services',
      );
      expect(list.items).toEqual([]);
      expect(api.requests.at(-1)?.user).toBe('alice');
    } finally {
      await api.stop();
    }
  });

  it('HTTPS: a CA and a client certificate in files beside the kubeconfig, a token file', async () => {
    const server = selfSigned('server', 'api');
    const client = selfSigned('client', 'gateway-client');
    writeFileSync(join(dir, 'ca.crt'), server.cert);
    writeFileSync(join(dir, 'client.crt'), client.cert);
    writeFileSync(join(dir, 'client.key'), client.key);
    writeFileSync(join(dir, 'token'), 'from-a-file\n');
    const seen: Array<{ cn: unknown; authorization: string | undefined }> = [];
    const https: Server = createServer(
      { cert: server.cert, key: server.key, ca: client.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push({ cn: peer.subject?.CN, authorization: req.headers.authorization });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}');
      },
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = https.address() as { port: number };
      const path = write(
        'tls.yaml',
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: c',
          '  cluster:',
          `    server: https://127.0.0.1:${port}/`,
          '    certificate-authority: ca.crt',
          'users:',
          '- name: u',
          '  user:',
          '    client-certificate: client.crt',
          `    client-key-data: ${Buffer.from(client.key).toString('base64')}`,
          '    tokenFile: token',
          'contexts:',
          '- name: x',
          '  context: { cluster: c, user: u }',
          'current-context: x',
          '',
        ].join('\n'),
      );
      const { kubeConfig, namespace } = await loadKubeConfig({ path });
      expect(namespace).toBe(process.env.POD_NAMESPACE || 'default');
      const api = new ApiClient(kubeConfig);
      await api.request('GET', '/api/v1/services', 'list services');
      await api.request('GET', '/api/v1/services', 'list services');
      expect(seen).toEqual([
        { cn: 'gateway-client', authorization: 'Bearer from-a-file' },
        { cn: 'gateway-client', authorization: 'Bearer from-a-file' },
      ]);
    } finally {
      await new Promise((resolve) => https.close(resolve));
    }
  });

  it('a credential plugin (exec) is left to client-node’s KubeConfig', async () => {
    const path = write(
      'exec.yaml',
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]',
        'users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: true } } }]',
        'contexts: [{ name: x, context: { cluster: c, user: u, namespace: ops } }]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const { kubeConfig, namespace } = await loadKubeConfig({ path });
    expect(kubeConfig).not.toBeInstanceOf(KubeAccess);
    expect(kubeConfig.constructor.name).toBe('KubeConfig');
    expect(kubeConfig.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(namespace).toBe(process.env.POD_NAMESPACE || 'ops');
  });

  it('errors name the file and what is wrong', async () => {
    const missing = join(dir, 'missing.yaml');
    await expect(loadKubeConfig({ path: missing })).rejects.toThrow(
      `cannot read kubeconfig ${missing}: ENOENT`,
    );
    const noContext = write('no-context.yaml', 'apiVersion: v1\nkind: Config\nclusters: []\n');
    await expect(loadKubeConfig({ path: noContext })).rejects.toThrow(
      `kubeconfig ${noContext}: no current context with a cluster`,
    );
    const plain = write(
      'plain-http.yaml',
      [
        'clusters: [{ name: c, cluster: { server: "http://127.0.0.1:8080" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: x, context: { cluster: c, user: u } }]',
        'current-context: x',
      ].join('\n'),
    );
    await expect(loadKubeConfig({ path: plain })).rejects.toThrow(
      `kubeconfig ${plain}: http://127.0.0.1:8080: plain http:// is allowed only with insecure-skip-tls-verify`,
    );
    const badCa = write(
      'bad-ca.yaml',
      [
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443", certificate-authority: nope.crt } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: x, context: { cluster: c, user: u } }]',
        'current-context: x',
      ].join('\n'),
    );
    await expect(loadKubeConfig({ path: badCa })).rejects.toThrow(
      `kubeconfig ${badCa}: certificate-authority: ENOENT`,
    );
  });
});
