// How the data plane opens a backend connection: endpoint addresses directly; ExternalName Services by
// DNS at connect time, refusing names that resolve to a loopback or link-local address when asked
// (cluster mode, CVE-2021-25740).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net, { isIP, type LookupFunction } from 'node:net';
import type { Endpoint } from '@gateway/translate';
import type { PoolTarget } from './http1/upstream-pool.js';

/** An ExternalName endpoint: `address` is a DNS name. */
export interface ExternalTarget extends PoolTarget {
  readonly external: true;
}

function refusedLocal(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname} resolves to a local address`), { code: 'EREFUSEDLOCAL' });
}

/** ExternalName lookups that refuse loopback and link-local answers. */
const refusingLookup: LookupFunction = (hostname, options, callback) => {
  const cb = callback as (e: Error | null, a: string | LookupAddress[], f?: number) => void;
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return cb(err, '', 0);
    const ok = addresses.filter((a) => !isLocalAddress(a.address));
    if (ok.length === 0) return cb(refusedLocal(hostname), '', 0);
    if ((options as { all?: boolean }).all) cb(null, ok);
    else cb(null, ok[0]!.address, ok[0]!.family);
  });
};

export function isLocalAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (a.startsWith('127.') || a.startsWith('169.254.') || a === '0.0.0.0') return true;
  if (a === '::1' || a === '::' || a.startsWith('fe80:')) return true;
  if (a.startsWith('::ffff:')) return isLocalAddress(a.slice(7));
  return false;
}

/** The pool's `connect`: plain endpoints by address, ExternalName targets through DNS. */
export function upstreamConnector(refuseLocalExternalNames: boolean): (target: PoolTarget) => net.Socket {
  return (target) => {
    if ((target as Partial<ExternalTarget>).external !== true || !refuseLocalExternalNames) {
      return net.connect({ host: target.address, port: target.port });
    }
    if (isIP(target.address) !== 0 && isLocalAddress(target.address)) {
      const socket = new net.Socket();
      process.nextTick(() => socket.destroy(refusedLocal(target.address)));
      return socket;
    }
    return net.connect({ host: target.address, port: target.port, lookup: refusingLookup });
  };
}

/** One pool target per ExternalName endpoint object (the pool keys its endpoints by target object). */
export class ExternalTargets {
  private readonly targets = new WeakMap<Endpoint, ExternalTarget>();

  of(ep: Endpoint): ExternalTarget {
    let t = this.targets.get(ep);
    if (t === undefined) {
      t = { address: ep.address, port: ep.port, external: true };
      this.targets.set(ep, t);
    }
    return t;
  }
}
