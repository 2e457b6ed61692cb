import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli } from '../../cli/run-cli.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, nodeBody } from '../helpers/fixtures.js';

describe('fleetnet cluster / node / encryption commands', () => {
  let api: TestApi;
  const cliIn = async (terminal: { stdoutTty: boolean; env: Record<string, string>; token?: string; stdin?: string }, ...args: string[]) => {
    let out = '';
    let err = '';
    const { token, stdin, ...rest } = terminal;
    const code = await runCli([...args, '--api-url', api.baseUrl, '--token', token ?? api.tokens.reader], { out: (t) => (out += t), err: (t) => (err += t), ...rest, ...(stdin !== undefined ? { stdin: async () => stdin } : {}) });
    return { code, out, err };
  };
  const cli = (...args: string[]) => cliIn({ stdoutTty: false, env: {} }, ...args);
  const put = async (path: string, body: unknown, token = api.tokens.admin) => {
    const response = await fetch(`${api.baseUrl}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBeLessThan(300);
  };
  /** Column start offsets of a table's header, to check rows line up under them. */
  const columnStarts = (header: string) => [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);

  beforeAll(async () => {
    api = await startTestApi();
    await put('/clusters/prod-east', clusterBody('prod-east', { env: 'prod' }, ['agent-east']));
    await put('/clusters/dev-west', clusterBody('dev-west', { env: 'dev' }));
    const agent = await api.agentToken('agent-east');
    await put('/clusters/prod-east/nodes/node-a', nodeBody('node-a'), agent);
    await put('/clusters/prod-east/nodes/node-bee', nodeBody('node-bee'), agent);
    await put('/clusters/prod-east/nodes/node-bee/status', {
      observedRevision: 3,
      conditions: [
        { type: 'Programmed', status: 'True', reason: 'Applied', lastTransitionTime: '2026-11-24T10:00:00Z' },
        { type: 'Degraded', status: 'True', reason: 'UnsupportedRule', message: 'policy default.fqdn: toFQDNs is not enforced yet' },
      ],
    }, agent);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('cluster list: an aligned table, a selector, JSON', async () => {
    const table = await cli('cluster', 'list');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.out.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+LABELS\s+AGENT IDENTITIES\s+UPDATED$/);
    expect(rows.map((r) => r.split(/\s+/)[0]).sort()).toEqual(['dev-west', 'prod-east']);
    const starts = columnStarts(header!);
    for (const row of rows) expect(row.slice(starts[1]!).startsWith('env=')).toBe(true);
    const prod = await cli('cluster', 'list', '-l', 'env=prod', '-o', 'json');
    expect(JSON.parse(prod.out).map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['prod-east']);
    const got = await cli('cluster', 'get', 'prod-east');
    expect(parseYaml(got.out)).toMatchObject({ kind: 'Cluster', metadata: { name: 'prod-east', labels: { env: 'prod' } } });
    expect((await cli('cluster', 'get', 'nowhere')).code).toBe(EXIT.NOT_FOUND);
  });

  it('node list: revision and conditions with their reasons', async () => {
    const { code, out } = await cli('node', 'list', 'prod-east');
    expect(code).toBe(0);
    const [header, ...rows] = out.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+AGENT\s+REVISION\s+PROGRAMMED\s+DEGRADED\s+LAST SEEN$/);
    const bee = rows.find((r) => r.startsWith('node-bee'))!;
    const a = rows.find((r) => r.startsWith('node-a'))!;
    const starts = columnStarts(header!);
    expect(bee.slice(starts[2]!)).toMatch(/^3\s+True \(Applied\)\s+True \(UnsupportedRule\)\s+\d{4}-/);
    expect(a.slice(starts[2]!)).toMatch(/^-\s+-\s+-\s+-$/);
    expect((await cli('node', 'list', 'dev-west')).out).toBe('No nodes registered in cluster dev-west.\n');
    const fleet = await cli('node', 'list');
    const [fleetHeader, ...fleetRows] = fleet.out.trimEnd().split('\n');
    expect(fleetHeader).toMatch(/^CLUSTER\s+NAME\s+AGENT\s+REVISION\s+PROGRAMMED\s+DEGRADED\s+LAST SEEN$/);
    expect(fleetRows.map((r) => r.split(/\s+/).slice(0, 2).join('/')).sort()).toEqual(['prod-east/node-a', 'prod-east/node-bee']);
    expect(JSON.parse((await cli('node', 'list', '-o', 'json')).out)).toMatchObject([{ cluster: 'prod-east' }, { cluster: 'prod-east' }]);
    expect((await cli('node', 'list', 'nowhere')).code).toBe(EXIT.NOT_FOUND);
  });

  it('node list on a terminal: conditions coloured, columns still aligned; NO_COLOR turns colour off', async () => {
    const plain = (await cli('node', 'list', 'prod-east')).out;
    const tty = (await cliIn({ stdoutTty: true, env: {} }, 'node', 'list', 'prod-east')).out;
    expect(tty).toContain('\u001b[32mTrue (Applied)\u001b[0m');
    expect(tty).toContain('\u001b[31mTrue (UnsupportedRule)\u001b[0m');
    expect(tty.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
    expect((await cliIn({ stdoutTty: true, env: { NO_COLOR: '1' } }, 'node', 'list', 'prod-east')).out).toBe(plain);
  });

  it('node status: every condition with its message; JSON for scripts; 5 for an unknown node', async () => {
    const { code, out } = await cli('node', 'status', 'prod-east', 'node-bee');
    expect(code).toBe(0);
    expect(out).toContain('Node:       prod-east/node-bee');
    expect(out).toContain('Capabilities: tcx, btf');
    expect(out).toMatch(/Conditions:\nTYPE\s+STATUS\s+REASON\s+SINCE\s+MESSAGE\nProgrammed\s+True\s+Applied\s+2026-11-24T10:00:00Z\nDegraded\s+True\s+UnsupportedRule\s+policy default\.fqdn: toFQDNs is not enforced yet\n$/);
    const json = await cli('node', 'status', 'prod-east', 'node-bee', '-o', 'json');
    expect(JSON.parse(json.out).status.conditions).toHaveLength(2);
    expect((await cli('node', 'status', 'prod-east', 'ghost')).code).toBe(EXIT.NOT_FOUND);
  });

  it('encryption get / effective', async () => {
    expect((await cli('encryption', 'get')).code).toBe(EXIT.NOT_FOUND);
    await put('/encryptionsettings', encryptionBody({
      default: { enabled: true, type: 'wireguard' },
      overrides: [{ name: 'prod-nodes', clusterSelector: { matchLabels: { env: 'prod' } }, settings: { nodeEncryption: true } }],
    }));
    const got = await cli('encryption', 'get');
    expect(parseYaml(got.out)).toMatchObject({ kind: 'EncryptionSettings', spec: { default: { enabled: true, type: 'wireguard' } } });
    const prod = await cli('encryption', 'effective', 'prod-east');
    expect(prod.out).toBe('Cluster:    prod-east\nEncryption: wireguard, node encryption\nOverrides:  prod-nodes\nGeneration: 1\n');
    const dev = await cli('encryption', 'effective', 'dev-west', '-o', 'json');
    expect(JSON.parse(dev.out)).toMatchObject({ clusterId: 'dev-west', appliedOverrides: [] });
  });

  it('encryption apply: validated first (--dry-run too), then PUT; If-Match; one document of the right kind', async () => {
    const admin = (stdin: string, ...args: string[]) => cliIn({ stdoutTty: false, env: {}, token: api.tokens.admin, stdin }, 'encryption', 'apply', '-f', '-', ...args);
    const doc = (type: string) => `apiVersion: fleetnet.io/v1\nkind: EncryptionSettings\nmetadata:\n  name: fleet\nspec:\n  default:\n    enabled: true\n    type: ${type}\n`;
    const invalid = await admin(doc('rot13'), '--dry-run');
    expect(invalid.code).toBe(EXIT.INVALID);
    expect(invalid.out).toMatch(/^document 1 \(EncryptionSettings\) rejected \(dry run\):\n\s+spec\.default\.type: /);
    const dry = await admin(doc('ipsec'), '--dry-run');
    expect(dry).toMatchObject({ code: 0, out: "encryptionsettings/fleet valid (dry run)\n" });
    expect(parseYaml((await cli('encryption', 'get')).out).spec.default.type).toBe('wireguard');
    expect((await admin(doc('ipsec'), '--if-match', '"stale"')).code).toBe(EXIT.CONFLICT);
    const applied = await admin(doc('ipsec'));
    expect(applied).toMatchObject({ code: 0, out: 'encryptionsettings/fleet applied (generation 2)\n' });
    expect(parseYaml((await cli('encryption', 'get')).out).spec.default.type).toBe('ipsec');
    expect((await admin(`${doc('ipsec')}---\n${doc('wireguard')}`)).code).toBe(EXIT.INVALID);
    const wrongKind = await admin('apiVersion: fleetnet.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {}\n');
    expect(wrongKind.code).toBe(EXIT.INVALID);
    expect(wrongKind.err).toContain('expected apiVersion fleetnet.io/v1 and kind EncryptionSettings');
    expect((await cliIn({ stdoutTty: false, env: {}, stdin: doc('ipsec') }, 'encryption', 'apply', '-f', '-')).code).toBe(EXIT.AUTH);
  });
});
