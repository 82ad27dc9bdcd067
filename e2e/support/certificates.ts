import { generate } from 'selfsigned';

export async function certificateFor(hosts: string[]): Promise<{ cert: string; key: string }> {
  const notAfterDate = new Date(Date.now() + 30 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: hosts[0]! }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate,
    extensions: [{ name: 'subjectAltName', altNames: hosts.map((value) => ({ type: 2, value })) }],
  });
  return { cert: pems.cert, key: pems.private };
}
