// The Node.js the gateway runs on. It is built and tested on Node 24 (LTS): on older ones it fails
// later and obscurely (Node 20 crashes on the first TLS Secret), so it says so at start instead.

/** The oldest major version the gateway runs on (package.json `engines`). */
export const MIN_NODE_MAJOR = 24;

/** Why the gateway cannot run on Node `version` (`process.version`, `v20.20.2`), or undefined. */
export function unsupportedNode(version: string): string | undefined {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `needs Node.js ${MIN_NODE_MAJOR} or later, and this is ${version}: ` +
    "run it with the README's set-up (source scripts/env.sh fetches Node 24), the image or the single binary"
  );
}
