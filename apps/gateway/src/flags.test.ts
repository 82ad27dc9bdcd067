import { describe, expect, it } from 'vitest';
import { availableCores, cgroupCpuLimit, FlagError, parseFlags } from './flags.js';

describe('parseFlags', () => {
  it('applies the defaults of the design', () => {
    expect(parseFlags(['--config', 'a.yaml'])).toMatchObject({
      config: 'a.yaml',
      httpPort: 8080,
      httpsPort: 8443,
      metricsPort: 10254,
      proxyConnectTimeout: 5,
      proxyReadTimeout: 60,
      proxySendTimeout: 60,
      proxyNextUpstreamTries: 3,
      proxyNextUpstreamTimeout: 0,
      redirectHttpsPort: 443,
      shutdownTimeout: 30,
      accessLog: true,
      check: false,
      bindAddress: '0.0.0.0',
      controllerName: 'k8s.io/ingress-gateway',
      workers: availableCores(),
      reusePort: false,
    });
  });

  it.each([
    { name: 'v2, a limit of 1.5 CPUs', files: { '/sys/fs/cgroup/cpu.max': '150000 100000\n' }, cores: 2 },
    { name: 'v2, a limit of 0.1 CPU', files: { '/sys/fs/cgroup/cpu.max': '10000 100000\n' }, cores: 1 },
    { name: 'v2, no limit', files: { '/sys/fs/cgroup/cpu.max': 'max 100000\n' }, cores: undefined },
    {
      name: 'v1, a limit of 4 CPUs',
      files: {
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000\n',
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      },
      cores: 4,
    },
    {
      name: 'v1, no limit',
      files: {
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      },
      cores: undefined,
    },
    { name: 'no cgroup files', files: {}, cores: undefined },
  ])('the default --workers honours a cgroup CPU limit: $name', ({ files, cores }) => {
    const read = (path: string): string => {
      const text = (files as Record<string, string>)[path];
      if (text === undefined) throw new Error(`ENOENT ${path}`);
      return text;
    };
    expect(cgroupCpuLimit(read)).toBe(cores);
  });

  it('reads --workers, a number of processes', () => {
    expect(parseFlags(['--config', 'a.yaml', '--workers', '3']).workers).toBe(3);
    expect(parseFlags(['--config', 'a.yaml', '--workers', '4', '--workers', '1']).workers).toBe(1);
    for (const bad of ['0', '-1', '1.5', 'two', '257']) {
      expect(() => parseFlags(['--config', 'a.yaml', '--workers', bad])).toThrow(FlagError);
    }
  });

  it('reads every flag', () => {
    const flags = parseFlags([
      '--config=dir',
      '--ingress-class',
      'internal',
      '--http-port',
      '80',
      '--https-port',
      '443',
      '--metrics-port',
      '9000',
      '--proxy-connect-timeout',
      '1.5',
      '--proxy-read-timeout',
      '120',
      '--proxy-send-timeout',
      '30',
      '--proxy-next-upstream-tries',
      '0',
      '--proxy-next-upstream-timeout',
      '2.5',
      '--redirect-https-port',
      '30443',
      '--shutdown-timeout',
      '5',
      '--no-access-log',
      '--reuse-port',
      '--check',
    ]);
    expect(flags).toMatchObject({
      config: 'dir',
      ingressClass: 'internal',
      httpPort: 80,
      httpsPort: 443,
      metricsPort: 9000,
      proxyConnectTimeout: 1.5,
      proxyReadTimeout: 120,
      proxySendTimeout: 30,
      proxyNextUpstreamTries: 0,
      proxyNextUpstreamTimeout: 2.5,
      redirectHttpsPort: 30443,
      shutdownTimeout: 5,
      accessLog: false,
      reusePort: true,
      check: true,
    });
  });

  it.each([
    [['--config', 'a', '--http-port', 'eighty'], /--http-port: "eighty" is not a port number/],
    [['--config', 'a', '--http-port', '70000'], /--http-port/],
    [['--config', 'a', '--proxy-read-timeout', '0'], /--proxy-read-timeout: "0" is not a positive number/],
    [['--config', 'a', '--proxy-next-upstream-tries=-1'], /--proxy-next-upstream-tries: "-1" is not a whole/],
    [['--config', 'a', '--proxy-next-upstream-tries', '1.5'], /--proxy-next-upstream-tries: "1.5"/],
    [['--config', 'a', '--proxy-next-upstream-timeout=-2'], /--proxy-next-upstream-timeout: "-2"/],
    [['--config', 'a', '--proxy-next-upstream-timeout', 'soon'], /--proxy-next-upstream-timeout/],
    [['--config', 'a', '--bogus'], /bogus/],
    [[], /exactly one of --config, --kubernetes or --kubeconfig/],
    [['--config', 'a', '--kubernetes'], /exactly one of/],
    [['--kubernetes', '--publish-service', 'nope'], /--publish-service: "nope" is not NAMESPACE\/NAME/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(FlagError);
    expect(() => parseFlags(argv)).toThrow(message);
  });

  it('accepts --help alone', () => {
    expect(parseFlags(['--help']).help).toBe(true);
  });
});
