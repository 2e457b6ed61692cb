import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePointer, joinSources } from '../../cli/apply-policies.js';
import { readPolicyDocuments } from '../../cli/read-policy-documents.js';
import { describeRequestPointer, plainMessage } from '../../cli/describe-api-error.js';
import { EXIT, exitCodeForStatus } from '../../cli/exit-codes.js';
import { FLOW_VERDICTS, TRAFFIC_DIRECTIONS } from '../../cli/program.js';
import { runCli } from '../../cli/run-cli.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t), env, ...(stdin !== undefined ? { stdin: async () => stdin } : {}) });
  return { code, out, err };
}

const fleetPolicy = (name: string, port = '80') =>
  `apiVersion: fleetnet.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  endpointSelector:\n    matchLabels:\n      app: web\n  ingress:\n    - fromEndpoints:\n        - matchLabels:\n            app: api\n      toPorts:\n        - ports:\n            - port: "${port}"\n              protocol: TCP\n`;
const ciliumPolicy = (name: string, port = '5432') =>
  `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: payments\nspec:\n  endpointSelector:\n    matchLabels:\n      app: db\n  ingress:\n    - fromEndpoints:\n        - matchLabels:\n            app: api\n      toPorts:\n        - ports:\n            - port: "${port}"\n              protocol: TCP\n`;

describe('exit codes and flag values (pure)', () => {
  it.each([
    { status: 400, want: EXIT.INVALID },
    { status: 401, want: EXIT.AUTH },
    { status: 403, want: EXIT.AUTH },
    { status: 404, want: EXIT.NOT_FOUND },
    { status: 409, want: EXIT.CONFLICT },
    { status: 412, want: EXIT.CONFLICT },
    { status: 413, want: EXIT.INVALID },
    { status: 415, want: EXIT.INVALID },
    { status: 422, want: EXIT.INVALID },
    { status: 429, want: EXIT.UNAVAILABLE },
    { status: 500, want: EXIT.UNAVAILABLE },
    { status: 503, want: EXIT.UNAVAILABLE },
    { status: 418, want: EXIT.ERROR },
  ])('HTTP $status → exit $want', ({ status, want }) => {
    expect(exitCodeForStatus(status)).toBe(want);
  });

  it('the exit code table in docs/cli.md matches cli/exit-codes.ts', () => {
    const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    for (const [name, code] of Object.entries(EXIT)) expect(doc).toMatch(new RegExp(`\\| ${code} +\\| \`${name}\``));
  });

  it('enum flags allow exactly the values of the contract (FlowFilter)', () => {
    const spec = parseYaml(readFileSync(new URL('../../openapi/openapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { FlowFilter: { properties: Record<string, { items: { enum: string[] } }> } } } };
    const props = spec.components.schemas.FlowFilter.properties;
    expect([...FLOW_VERDICTS]).toEqual(props.verdict!.items.enum);
    expect([...TRAFFIC_DIRECTIONS]).toEqual(props.traffic_direction!.items.enum);
  });

  it.each([
    { pointer: '/spec/egress/0/toPorts/1/ports', want: 'spec.egress[0].toPorts[1].ports' },
    { pointer: '/metadata/labels/a~1b', want: 'metadata.labels.a/b' },
    { pointer: '', want: '(document)' },
  ])('pointer $pointer in words', ({ pointer, want }) => {
    expect(describePointer(pointer)).toBe(want);
  });

  it.each([
    { name: 'plain documents', text: 'a: 1\n---\nb: 2\n' },
    { name: 'comments and an empty document kept out', text: '# head\na: 1 # one\n---\n# nothing\n---\n--- {b: 2}\n' },
    { name: 'document end markers and directives', text: 'a: 1\n...\n%YAML 1.2\n---\nb: 2\n' },
    { name: 'no trailing newline', text: 'a: 1\n---\nb: [1, 2]' },
  ])('documents are sent as written and parse back the same: $name', ({ text }) => {
    const docs = readPolicyDocuments(text, 'f.yaml');
    const body = joinSources(docs);
    const back = readPolicyDocuments(body, 'body');
    expect(back.map((d) => d.value)).toEqual(docs.map((d) => d.value));
    for (const d of docs) expect(body).toContain(d.source.replace(/^---\n/, '').trimEnd());
  });

  it.each([
    { pointer: '/whitelist/0/source_ip/0', want: '--from-ip / --ip' },
    { pointer: '/whitelist/1/destination_pod/0', want: '--to-pod / --to-namespace / --pod / --namespace' },
    { pointer: '/blacklist/0/verdict/0', want: '--not-verdict' },
    { pointer: '/whitelist/0/protocol', want: '--protocol' },
    { pointer: '/whitelist/0/dns_query/1', want: '--dns-query' },
    { pointer: '/whitelist/0/http_status_code/0', want: '--http-status' },
    { pointer: '/whitelist/1/http_path/0', want: '--http-path' },
    { pointer: '/whitelist/0/http_method/0', want: '--http-method' },
    { pointer: '/groupBy/2', want: '--by' },
    { pointer: '/since', want: '--since' },
    { pointer: '/query/labelSelector', want: '--selector' },
    { pointer: '/spec/ingress/0', want: 'spec.ingress[0]' },
  ])('API pointer $pointer names $want', ({ pointer, want }) => {
    expect(describeRequestPointer(pointer)).toBe(want);
  });

  it.each([
    { message: 'must be one of ["cluster","node_name"]', want: 'must be one of cluster, node_name' },
    { message: 'must NOT have fewer than 1 characters', want: 'must not be empty' },
    { message: 'must NOT have more than 64 items', want: 'must have at most 64 items' },
    { message: 'must be integer', want: 'must be a whole number' },
    { message: 'port 70000 is out of range', want: 'port 70000 is out of range' },
  ])('validator message "$message" in plain words', ({ message, want }) => {
    expect(plainMessage(message)).toBe(want);
  });
});

describe('fleetnet CLI: strict input, exit codes, options anywhere, timeout', () => {
  let api: TestApi;
  let dir: string;
  let silent: Server;
  let silentUrl: string;
  let stub: Server;
  let stubUrl: string;
  const sockets = new Set<Socket>();
  const admin = (): string[] => ['--api-url', api.baseUrl, '--token', api.tokens.admin];
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const stored = async (name: string): Promise<number> => (await fetch(`${api.baseUrl}/networkpolicies/${name}`, { headers: { authorization: `Bearer ${api.tokens.admin}` } })).status;

  beforeAll(async () => {
    api = await startTestApi();
    dir = await mkdtemp(join(tmpdir(), 'fleetnet-strict-cli-'));
    // accepts connections, reads requests, never answers
    silent = createServer(() => {});
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api`;
    // answers every request with the status in the path's last segment, as problem+json
    stub = createServer((req, res: ServerResponse) => {
      const status = Number(req.url!.split('/').pop());
      res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: `Stub${status}`, detail: `stub answered ${status}` }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/api`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await new Promise((resolve) => stub?.close(resolve));
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a file missing a } fails with line and column, and nothing is stored', async () => {
    const path = await file('missing-brace.yaml', `${fleetPolicy('brace-ok')}---\napiVersion: fleetnet.io/v1\nkind: NetworkPolicy\nmetadata: {name: brace-broken\nspec:\n  endpointSelector: {}\n`);
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err).toContain('syntax error, nothing was sent');
    expect(run.err).toMatch(new RegExp(`${path.replace(/[.]/g, '\\.')}:2[0-9]:\\d+: document 2: .*\\}`));
    expect(run.out).toBe('');
    expect(await stored('brace-ok')).toBe(404);
    expect(await stored('brace-broken')).toBe(404);
  });

  it('-f - reads standard input; its errors name <stdin>', async () => {
    const bad = await cli(['policy', 'apply', '--all-clusters', '-f', '-', ...admin()], {}, 'a: [1\n');
    expect(bad.code).toBe(EXIT.INVALID);
    expect(bad.err).toMatch(/<stdin>:\d+:\d+: document 1: /);
    const good = await cli(['policy', 'apply', '--all-clusters', '-f', '-', '--dry-run', ...admin()], {}, ciliumPolicy('from-stdin'));
    expect(good).toMatchObject({ code: 0, out: 'networkpolicy/payments.from-stdin imported (dry run)\n' });
  });

  it('a mis-indented file fails with the line of the bad indentation', async () => {
    const path = await file('indent.yaml', 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: indent\n namespace: payments\nspec: {}\n');
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err).toMatch(/indent\.yaml:5:\d+: document 1: All mapping items must start at the same column/);
    expect(await stored('payments.indent')).toBe(404);
  });

  it('a JSON file with a syntax error names its line and column', async () => {
    const path = await file('bad.json', '{\n  "apiVersion": "cilium.io/v2",\n  "kind": "CiliumNetworkPolicy",\n  "metadata": {"name": "j"\n}\n');
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err).toMatch(/bad\.json:\d+:\d+: document 1: /);
  });

  it.each([
    { name: 'an empty file', text: '' },
    { name: 'only comments and whitespace', text: '# nothing here\n\n   \n' },
    { name: 'only empty documents', text: '---\n# a\n---\n' },
  ])('$name is an error', async ({ text }) => {
    const path = await file('empty.yaml', text);
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err).toMatch(/no documents/);
  });

  it('document numbers are positions in the file, counting every document; one rejection stores nothing', async () => {
    const path = await file('numbered.yaml', [fleetPolicy('num-fleet'), '# an empty document\n', ciliumPolicy('num-ok'), ciliumPolicy('num-bad', '70000')].join('---\n'));
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.out).toContain('document 4 (CiliumNetworkPolicy payments/num-bad) rejected: the converted policy is invalid\n    spec.ingress[0].toPorts[0].ports[0].port: port 70000 is out of range');
    expect(run.out).not.toMatch(/document [0-3] .*rejected/);
    expect(run.err).toContain('1 document of');
    expect(run.err).toContain('nothing was stored');
    expect(await stored('num-fleet')).toBe(404);
    expect(await stored('payments.num-ok')).toBe(404);
  });

  it('an item of a List is numbered by its document and its place in the list', async () => {
    const indent = (text: string) => text.trimEnd().split('\n').map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)).join('\n');
    const list = `apiVersion: v1\nkind: List\nitems:\n${indent(ciliumPolicy('list-ok'))}\n${indent(ciliumPolicy('list-bad', '70000'))}\n`;
    const path = await file('list.yaml', [ciliumPolicy('before-list'), list].join('---\n'));
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, '--dry-run', ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.out).toMatch(/^networkpolicy\/payments\.before-list imported \(dry run\)\nnetworkpolicy\/payments\.list-ok imported \(dry run\)\ndocument 2 \(List\) item 2 rejected \(dry run\): /);
  });

  it('a rejected fleet NetworkPolicy is reported by position with its field in words, and stops the import', async () => {
    const path = await file('fleet-bad.yaml', [ciliumPolicy('fb-ok'), fleetPolicy('fb-bad', '99999')].join('---\n'));
    const run = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.out).toMatch(/^document 2 \(NetworkPolicy fb-bad\) rejected:\n\s+spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: /m);
    expect(await stored('payments.fb-ok')).toBe(404);
  });

  it('--dry-run: a rejected document exits non-zero, fleet policies included', async () => {
    const fleetBad = await file('dry-fleet.yaml', fleetPolicy('dry-fleet-bad', '99999'));
    const a = await cli(['policy', 'apply', '--all-clusters', '-f', fleetBad, '--dry-run', ...admin()]);
    expect(a.code).toBe(EXIT.INVALID);
    expect(a.out).toContain('document 1 (NetworkPolicy dry-fleet-bad) rejected (dry run)');
    const schemaBad = await file('dry-schema.yaml', fleetPolicy('dry-schema').replace('spec:\n', 'spec:\n  mode: sometimes\n'));
    const b = await cli(['policy', 'apply', '--all-clusters', '-f', schemaBad, '--dry-run', ...admin()]);
    expect(b.code).toBe(EXIT.INVALID);
    expect(b.out).toMatch(/spec\.mode: /);
    const ciliumBad = await file('dry-cilium.yaml', ciliumPolicy('dry-cilium', '70000'));
    const c = await cli(['policy', 'apply', '--all-clusters', '-f', ciliumBad, '--dry-run', ...admin()]);
    expect(c.code).toBe(EXIT.INVALID);
    expect(c.out).toMatch(/^document 1 \(CiliumNetworkPolicy payments\/dry-cilium\) rejected \(dry run\)/m);
  });

  it('--dry-run of valid documents exits 0 and stores nothing; apply then stores them, in file order', async () => {
    const path = await file('good.yaml', [ciliumPolicy('good-cilium'), '# empty\n', fleetPolicy('good-fleet')].join('---\n'));
    const dry = await cli(['policy', 'apply', '--all-clusters', '-f', path, '--dry-run', ...admin()]);
    expect(dry.code).toBe(0);
    expect(dry.out).toBe('networkpolicy/payments.good-cilium imported (dry run)\nnetworkpolicy/good-fleet valid (dry run)\n');
    expect(await stored('good-fleet')).toBe(404);
    expect(await stored('payments.good-cilium')).toBe(404);
    const applied = await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()]);
    expect(applied.code).toBe(0);
    expect(applied.out).toBe('networkpolicy/payments.good-cilium imported\nnetworkpolicy/good-fleet created (generation 1)\n');
    expect(await stored('good-fleet')).toBe(200);
  });

  it('a document enforced on every cluster needs --all-clusters (dry runs too); a selector, targets or audit mode need none', async () => {
    const cilium = await file('fleet-wide-cilium.yaml', ciliumPolicy('fleet-wide'));
    for (const extra of [[], ['--dry-run']]) {
      const refused = await cli(['policy', 'apply', '-f', cilium, ...extra, ...admin()]);
      expect(refused.code).toBe(EXIT.USAGE);
      expect(refused.err).toBe(
        'fleetnet: document 1 (CiliumNetworkPolicy payments/fleet-wide) would be enforced on every cluster of the fleet; name the clusters (--cluster-selector for Cilium/Kubernetes documents, spec.targets in a fleet policy) or pass --all-clusters to mean it\n',
      );
      expect(refused.out).toBe('');
    }
    expect(await stored('payments.fleet-wide')).toBe(404);
    expect((await cli(['policy', 'apply', '-f', cilium, '--cluster-selector', 'env=prod', ...admin()])).code).toBe(0);
    expect((await cli(['policy', 'apply', '-f', cilium, '--mode', 'audit', ...admin()])).code).toBe(0);

    const fleetWide = await file('fleet-wide.yaml', fleetPolicy('fleet-wide-own'));
    const refused = await cli(['policy', 'apply', '-f', fleetWide, ...admin()]);
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.err).toContain('document 1 (NetworkPolicy fleet-wide-own) would be enforced on every cluster');
    expect(await stored('fleet-wide-own')).toBe(404);
    const targeted = await file('targeted.yaml', fleetPolicy('targeted-own').replace('spec:\n', 'spec:\n  targets:\n    clusterIds: [prod-east]\n'));
    expect((await cli(['policy', 'apply', '-f', targeted, ...admin()])).code).toBe(0);
    expect((await cli(['policy', 'apply', '-f', fleetWide, '--all-clusters', ...admin()])).code).toBe(0);
  });

  it('prints a warning line for each part the datapath will not enforce, from the API, dry runs included', async () => {
    const egress = (name: string) =>
      `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  endpointSelector:\n    matchLabels: {app: checkout}\n  egress:\n    - toFQDNs: [{matchName: api.stripe.com}]\n    - toEntities: [kube-apiserver]\n`;
    const warned = await cli(['policy', 'apply', '-f', await file('warned.yaml', egress('warned')), '--cluster-selector', 'env=prod', ...admin()]);
    expect(warned.code).toBe(0);
    expect(warned.out).toBe(
      'networkpolicy/shop.warned imported\n' +
        '    warning: spec.egress[1].toEntities[0]: no addresses of the kube-apiserver entity are known to the agent; contributes no allow (fail closed)\n',
    );
    const own = fleetPolicy('warned-own', 'http-alt').replace('spec:\n', 'spec:\n  targets:\n    clusterIds: [prod-east]\n');
    const path = await file('warned-own.yaml', own);
    const dry = await cli(['policy', 'apply', '-f', path, '--dry-run', ...admin()]);
    const applied = await cli(['policy', 'apply', '-f', path, ...admin()]);
    const warningLines = (out: string) => out.split('\n').filter((line) => line.startsWith('    warning: '));
    expect(warningLines(dry.out)).toEqual(['    warning: spec.ingress[0].toPorts[0].ports[0]: named port "http-alt" cannot be resolved by the agent; no allow (fail closed)']);
    expect(warningLines(applied.out)).toEqual(warningLines(dry.out));
  });

  it('exit codes against the real API: auth 3, not found 5, usage 2', async () => {
    const missing = await cli(['policy', 'get', 'no-such-policy', ...admin()]);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.err).toMatch(/^fleetnet: the API answered 404 NotFound: /);
    const badToken = await cli(['policy', 'list', '--api-url', api.baseUrl, '--token', 'not-a-token']);
    expect(badToken.code).toBe(EXIT.AUTH);
    expect(badToken.err).toMatch(/^fleetnet: the API answered 401 .*\n {2}\(no valid token: pass --token or set FLEETNET_TOKEN\)\n$/s);
    const path = await file('reader.yaml', fleetPolicy('reader-write'));
    const reader = await cli(['policy', 'apply', '--all-clusters', '-f', path, '--api-url', api.baseUrl, '--token', api.tokens.reader]);
    expect(reader.code).toBe(EXIT.AUTH);
    expect(reader.err).toContain('writes Fleet.Admin');
    expect((await cli(['policy', 'frobnicate', ...admin()])).code).toBe(EXIT.USAGE);
    expect((await cli(['flows', '--no-such-flag', ...admin()])).code).toBe(EXIT.USAGE);
    expect((await cli(['flows', '--last', 'many', ...admin()])).code).toBe(EXIT.USAGE);
    expect((await cli(['policy', 'apply', '--all-clusters', '-f', join(dir, 'absent.yaml'), ...admin()])).code).toBe(EXIT.USAGE);
  });

  it.each([
    { status: 409, want: EXIT.CONFLICT },
    { status: 412, want: EXIT.CONFLICT },
    { status: 500, want: EXIT.UNAVAILABLE },
    { status: 503, want: EXIT.UNAVAILABLE },
    { status: 422, want: EXIT.INVALID },
  ])('an API answering $status exits $want', async ({ status, want }) => {
    const run = await cli(['policy', 'get', String(status), '--api-url', stubUrl, '--token', 't']);
    expect(run.code).toBe(want);
    expect(run.err).toContain(`stub answered ${status}`);
  });

  it('an unreachable API exits 7', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await cli(['policy', 'list', '--api-url', `http://127.0.0.1:${port}/api`, '--token', 't']);
    expect(run.code).toBe(EXIT.UNAVAILABLE);
    expect(run.err).toMatch(/^fleetnet: cannot reach /);
  });

  it('an API that accepts but never answers times out (--timeout, FLEETNET_TIMEOUT) with exit 7 and one line', async () => {
    const started = Date.now();
    const run = await cli(['policy', 'list', '--api-url', silentUrl, '--token', 't', '--timeout', '0.5']);
    expect(run.code).toBe(EXIT.UNAVAILABLE);
    expect(run.err).toMatch(/^fleetnet: no answer from http:\/\/127\.0\.0\.1:\d+\/api\/networkpolicies\S* within 0\.5 s/);
    expect(run.err.trim().split('\n')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
    const env = await cli(['flows', '--api-url', silentUrl, '--token', 't'], { FLEETNET_TIMEOUT: '0.3' });
    expect(env.code).toBe(EXIT.UNAVAILABLE);
    expect(env.err).toContain('within 0.3 s');
    expect((await cli(['flows', '--timeout', 'soon'])).code).toBe(EXIT.USAGE);
    expect((await cli(['flows', '--api-url', silentUrl], { FLEETNET_TIMEOUT: '-1' })).code).toBe(EXIT.USAGE);
  });

  it('global options are accepted before and after the subcommand', async () => {
    const before = await cli([...admin(), 'policy', 'get', 'good-fleet', '-o', 'json']);
    const after = await cli(['policy', 'get', 'good-fleet', '-o', 'json', ...admin()]);
    expect(before.code).toBe(0);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out).metadata.name).toBe('good-fleet');
    const between = await cli(['flows', '--api-url', api.baseUrl, 'top', '--token', api.tokens.admin, '-o', 'json']);
    expect(between.code).toBe(0);
    expect(JSON.parse(between.out).groups).toEqual([]);
    // the value nearest the subcommand wins
    const nearest = await cli(['--api-url', silentUrl, '--timeout', '0.2', 'policy', 'list', ...admin()]);
    expect(nearest.code).toBe(0);
  });

  it('--version prints the package version; a bad --verdict names the allowed values', async () => {
    const { version: pkgVersion } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await cli(['--version']);
    expect(run).toEqual({ code: 0, out: `${pkgVersion}\n`, err: '' });
    expect(await cli(['policy', 'list', '--version'])).toEqual({ code: 0, out: `${pkgVersion}\n`, err: '' });
    expect(await cli(['-V'])).toEqual({ code: 0, out: `${pkgVersion}\n`, err: '' });
    const verdict = await cli(['flows', '--verdict', 'DENIED', ...admin()]);
    expect(verdict.code).toBe(EXIT.USAGE);
    expect(verdict.err).toContain('"DENIED" is not one of FORWARDED, DROPPED, AUDIT');
    expect(verdict.err).not.toMatch(/\/whitelist/);
    const direction = await cli(['flows', 'drops', '--traffic-direction', 'sideways', ...admin()]);
    expect(direction.code).toBe(EXIT.USAGE);
    expect(direction.err).toContain('is not one of INGRESS, EGRESS');
    const ipVersion = await cli(['flows', '--ip-version', '5', ...admin()]);
    expect(ipVersion.code).toBe(EXIT.USAGE);
    expect(ipVersion.err).toContain('invalid --ip-version "5": expected 4 or 6');
  });

  it.each([
    { args: ['flows', '--from-ip', 'nope'], want: '  --from-ip / --ip: invalid IP or CIDR "nope"' },
    { args: ['flows', '--since', 'yesterday'], want: '  --since: "yesterday" is neither an RFC 3339 time nor a duration' },
    { args: ['flows', 'top', '--by', 'colour'], want: '  --by: must be one of cluster, node_name, source_namespace' },
    { args: ['flows', '--from-identity', 'x'], want: '  --from-identity: must be a whole number' },
    { args: ['policy', 'list', '-l', '==='], want: '  --selector: expected a label key' },
  ])('API errors name the flag, not a pointer: $args', async ({ args, want }) => {
    const run = await cli([...args, ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err).toMatch(/^fleetnet: the API answered 400 ValidationFailed: /);
    expect(run.err).toContain(want);
    expect(run.err).not.toMatch(/ \/[a-zA-Z]/);
  });

  it('an empty --pod is said once, in words', async () => {
    const run = await cli(['flows', '--pod', '', ...admin()]);
    expect(run.code).toBe(EXIT.INVALID);
    expect(run.err.match(/must not be empty/g)).toHaveLength(2);
    expect(run.err).toContain('  --from-pod / --from-namespace / --pod / --namespace: must not be empty\n  --to-pod / --to-namespace / --pod / --namespace: must not be empty\n');
  });

  it('policy delete: 0 when deleted, 5 when absent, 6 when --if-match does not match', async () => {
    const path = await file('to-delete.yaml', fleetPolicy('to-delete'));
    expect((await cli(['policy', 'apply', '--all-clusters', '-f', path, ...admin()])).code).toBe(0);
    const stale = await cli(['policy', 'delete', 'to-delete', '--if-match', '"not-the-etag"', ...admin()]);
    expect(stale.code).toBe(EXIT.CONFLICT);
    expect(stale.err).toMatch(/^fleetnet: the API answered 412 /);
    expect(await stored('to-delete')).toBe(200);
    const etag = (await fetch(`${api.baseUrl}/networkpolicies/to-delete`, { headers: { authorization: `Bearer ${api.tokens.admin}` } })).headers.get('etag')!;
    const deleted = await cli(['policy', 'delete', 'to-delete', '--if-match', etag, ...admin()]);
    expect(deleted).toMatchObject({ code: 0, out: 'networkpolicy/to-delete deleted\n' });
    expect(await stored('to-delete')).toBe(404);
    expect((await cli(['policy', 'delete', 'to-delete', ...admin()])).code).toBe(EXIT.NOT_FOUND);
    expect((await cli(['policy', 'delete', 'good-fleet', '--api-url', api.baseUrl, '--token', api.tokens.reader])).code).toBe(EXIT.AUTH);
  });

  it('the entry point sets the process exit code (child process)', async () => {
    // asynchronous: the API answering the child runs in this process
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(tsx, ['cli/fleetnet.ts', ...args], { encoding: 'utf8', timeout: 25_000 }, (_error, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }));
      });
    const version = await run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const missing = await run(['policy', 'get', 'no-such-policy', '--api-url', api.baseUrl, '--token', api.tokens.admin]);
    expect(missing.status).toBe(EXIT.NOT_FOUND);
    expect(missing.stderr).toMatch(/^fleetnet: the API answered 404 NotFound: /);
    // the process ends after a timeout (no socket keeps it alive)
    const started = Date.now();
    const silentRun = await run(['policy', 'list', '--api-url', silentUrl, '--token', 't', '--timeout', '0.5']);
    expect(silentRun.status).toBe(EXIT.UNAVAILABLE);
    expect(silentRun.stderr).toMatch(/^fleetnet: no answer from .* within 0\.5 s/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);
});
