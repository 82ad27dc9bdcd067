export interface KubeconfigOptions {
  /** Namespace of the context; default "default". */
  namespace?: string;
  /** Bearer token of the user; default the fixture's first token. */
  token?: string;
  /** File name inside the directory; default "kubeconfig". */
  fileName?: string;
  /** Name of the cluster, user and context; default "fixture". */
  contextName?: string;
}

/** The shape `KubeConfig.loadFromOptions()` takes. */
export interface KubeConfigObject {
  clusters: { name: string; server: string; skipTLSVerify: boolean }[];
  users: { name: string; token: string }[];
  contexts: { name: string; cluster: string; user: string; namespace: string }[];
  currentContext: string;
}

export function kubeConfigObject(
  server: string,
  token: string,
  options: KubeconfigOptions = {},
): KubeConfigObject {
  const name = options.contextName ?? 'fixture';
  return {
    // client-node refuses plain http:// unless TLS verification is off.
    clusters: [{ name, server, skipTLSVerify: true }],
    users: [{ name, token }],
    contexts: [{ name, cluster: name, user: name, namespace: options.namespace ?? 'default' }],
    currentContext: name,
  };
}

/** The same, as a kubeconfig file (JSON-quoted scalars are valid YAML). */
export function kubeconfigYaml(config: KubeConfigObject): string {
  const q = JSON.stringify;
  const c = config.clusters[0]!;
  const u = config.users[0]!;
  const x = config.contexts[0]!;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(c.name)}`,
    '  cluster:',
    `    server: ${q(c.server)}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${q(u.name)}`,
    '  user:',
    `    token: ${q(u.token)}`,
    'contexts:',
    `- name: ${q(x.name)}`,
    '  context:',
    `    cluster: ${q(x.cluster)}`,
    `    user: ${q(x.user)}`,
    `    namespace: ${q(x.namespace)}`,
    `current-context: ${q(config.currentContext)}`,
    '',
  ].join('\n');
}
