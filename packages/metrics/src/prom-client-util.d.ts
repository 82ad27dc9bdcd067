// The one prom-client internal bound-series.ts calls: how a labels object becomes its series key.
declare module 'prom-client/lib/util.js' {
  export function hashObject(labels: object, labelNames?: readonly string[]): string;
}
