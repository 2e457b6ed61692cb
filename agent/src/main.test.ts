import { describe, expect, it } from 'vitest';
import { agentCommand, parseDuration } from './main.js';

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
    });
  });

  it('requires --api and --cluster', () => {
    const cmd = agentCommand().exitOverride().configureOutput({ writeErr: () => undefined });
    expect(() => cmd.parse(['--node', 'n1'], { from: 'user' })).toThrow(/--api/);
  });
});
