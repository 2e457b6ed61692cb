import { describe, expect, it } from 'vitest';
import { agentCommand, datapathOptionsOf, dnsProxyAddresses, parseDuration, parseTimeoutSeconds } from './main.js';

describe('agent CLI', () => {
  it.each([
    { v: '5s', want: 5000 },
    { v: '500ms', want: 500 },
    { v: '2m', want: 120_000 },
    { v: '1h', want: 3_600_000 },
    { v: '10', want: 10_000 },
    { v: '0.5s', want: 500 },
  ])('parseDuration($v) = $want', ({ v, want }) => expect(parseDuration(v)).toBe(want));

  it.each(['', 'soon', '5x', '-1s', '0s'])('parseDuration(%j) throws', (v) => expect(() => parseDuration(v)).toThrow());

  it('parses the documented flags with defaults', () => {
    const cmd = agentCommand().exitOverride();
    cmd.parse(['--api', 'http://localhost:7071/api', '--cluster', 'c1', '--node', 'n1', '--token-file', '/t', '--endpoints-file', 'e.yaml', '--flow-interval', '3s'], { from: 'user' });
    expect(cmd.opts()).toMatchObject({
      api: 'http://localhost:7071/api',
      cluster: 'c1',
      node: 'n1',
      tokenFile: '/t',
      endpointsFile: 'e.yaml',
      pollInterval: 5000,
      flowInterval: 3000,
      pinDir: '/sys/fs/bpf/fleetnet/agent',
      stateDir: '/var/lib/fleetnet',
      attachMode: 'auto',
      allowLocalhost: 'always',
      hostRouting: 'stack',
    });
    expect(cmd.opts().ctTimeoutSyn).toBeUndefined();
    expect(datapathOptionsOf(cmd.opts())).toEqual({ pinDir: '/sys/fs/bpf/fleetnet/agent', attachMode: 'auto', allowLocalhost: 'always', hostRouting: 'stack' });
  });

  it.each([
    { v: '10', want: 10_000 },
    { v: '0.5', want: 500 },
    { v: '21600', want: 21_600_000 },
    { v: '0.001', want: 1 },
    { v: ' 60 ', want: 60_000 },
    { v: '4294967.295', want: 0xffffffff },
  ])('parseTimeoutSeconds($v) = $want ms', ({ v, want }) => expect(parseTimeoutSeconds(v)).toBe(want));

  it.each(['', '0', '0.0001', '-1', '10s', '1e3', 'soon', '4294967.296', 'NaN', 'Infinity'])('parseTimeoutSeconds(%j) throws', (v) => {
    expect(() => parseTimeoutSeconds(v)).toThrow(/number of seconds/);
  });

  it('host and conntrack options go to the Datapath: --allow-localhost policy, the timeouts given (seconds → ms)', () => {
    const cmd = agentCommand().exitOverride();
    cmd.parse(
      ['--api', 'http://a/api', '--cluster', 'c1', '--node', 'n1', '--token-file', '/t', '--netns', '/run/netns/x', '--allow-localhost', 'policy', '--host-routing', 'bpf', '--ct-timeout-closing', '0.5', '--ct-timeout-established', '3600'],
      { from: 'user' },
    );
    expect(datapathOptionsOf(cmd.opts())).toEqual({
      pinDir: '/sys/fs/bpf/fleetnet/agent',
      attachMode: 'auto',
      allowLocalhost: 'policy',
      hostRouting: 'bpf',
      netnsPath: '/run/netns/x',
      conntrackTimeouts: { closingMs: 500, establishedMs: 3_600_000 },
    });
  });

  it.each([
    { args: ['--allow-localhost', 'never'], err: /Allowed choices are always, policy/ },
    { args: ['--host-routing', 'fast'], err: /Allowed choices are stack, bpf/ },
    { args: ['--ct-timeout-syn', '10s'], err: /--ct-timeout-syn <seconds>' argument '10s' is invalid.*number of seconds/ },
    { args: ['--ct-timeout-other', '0'], err: /--ct-timeout-other <seconds>' argument '0' is invalid/ },
  ])('rejects $args with a clear error', ({ args, err }) => {
    const cmd = agentCommand().exitOverride().configureOutput({ writeErr: () => undefined });
    expect(() => cmd.parse(['--api', 'http://a/api', '--cluster', 'c1', '--node', 'n1', ...args], { from: 'user' })).toThrow(err);
  });

  it('DNS proxy flags: on by default on any free port with a 60 s minimum TTL; addresses, port, TTL and --no-dns-proxy parsed', () => {
    const base = ['--api', 'http://a/api', '--cluster', 'c1', '--node', 'n1', '--token-file', '/t'];
    const defaults = agentCommand().exitOverride();
    defaults.parse(base, { from: 'user' });
    expect(defaults.opts()).toMatchObject({ dnsProxy: true, dnsProxyPort: 0, fqdnMinTtl: 60, httpProxy: true, httpProxyPort: 0 });
    expect(defaults.opts().dnsProxyAddress).toBeUndefined();
    const given = agentCommand().exitOverride();
    given.parse([...base, '--dns-proxy-address', '10.0.0.4', '--dns-proxy-address', 'fd00::4', '--dns-proxy-port', '10053', '--fqdn-min-ttl', '5'], { from: 'user' });
    expect(given.opts()).toMatchObject({ dnsProxy: true, dnsProxyAddress: ['10.0.0.4', 'fd00::4'], dnsProxyPort: 10053, fqdnMinTtl: 5 });
    const off = agentCommand().exitOverride();
    off.parse([...base, '--no-dns-proxy', '--no-http-proxy'], { from: 'user' });
    expect(off.opts()).toMatchObject({ dnsProxy: false, httpProxy: false });
    const httpPort = agentCommand().exitOverride();
    httpPort.parse([...base, '--http-proxy-port', '10080'], { from: 'user' });
    expect(httpPort.opts().httpProxyPort).toBe(10080);
    for (const bad of [['--dns-proxy-address', 'node-1'], ['--dns-proxy-port', '70000'], ['--fqdn-min-ttl', '0']]) {
      const cmd = agentCommand().exitOverride().configureOutput({ writeErr: () => undefined });
      expect(() => cmd.parse([...base, ...bad], { from: 'user' })).toThrow(/invalid/);
    }
  });

  it('DNS proxy addresses: the ones given (first of each family), else the local node\'s', () => {
    const nodes = [{ ips: ['10.0.0.9'] }, { ips: ['fd00::4', '10.0.0.4', '10.0.0.5'], local: true }];
    expect(dnsProxyAddresses(undefined, nodes)).toEqual({ ipv4: '10.0.0.4', ipv6: 'fd00::4' });
    expect(dnsProxyAddresses(['192.0.2.1'], nodes)).toEqual({ ipv4: '192.0.2.1' });
    expect(dnsProxyAddresses([], [{ ips: ['10.0.0.9'] }])).toEqual({});
  });

  it('requires --api and --cluster', () => {
    const cmd = agentCommand().exitOverride().configureOutput({ writeErr: () => undefined });
    expect(() => cmd.parse(['--node', 'n1'], { from: 'user' })).toThrow(/--api/);
  });
});
