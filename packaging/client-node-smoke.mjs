// Packaging smoke entry: what cluster mode will pull into cli.js's import graph, @kubernetes/client-node,
// bundled into a single executable on its own (see e2e/single-binary.test.ts). Given a kubeconfig path, it
// loads the file, lists namespaces and reads one watch event from the API server it names, and prints
// {"context", "namespaces", "watched"} as one JSON line. No top-level await: a SEA main script is CommonJS.
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';

async function main(path) {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  const watched = await new Promise((resolve, reject) => {
    let first;
    new Watch(kc)
      .watch(
        '/api/v1/namespaces',
        {},
        (type, obj) => {
          first ??= `${type} ${obj.metadata.name}`;
        },
        (err) => (err ? reject(err) : resolve(first)),
      )
      .catch(reject);
  });
  const namespaces = list.items.map((n) => n.metadata?.name);
  process.stdout.write(`${JSON.stringify({ context: kc.getCurrentContext(), namespaces, watched })}\n`);
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`client-node-smoke: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
