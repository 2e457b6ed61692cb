import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { compileToScratch } from '../helpers/compile-scratch.js';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
let outDir: string;
let removeBuild: (() => void) | undefined;

// What deploys and what users run is tsc's JavaScript (tsconfig.build.json: the API, the agent and the
// CLI) — the other suites run the TypeScript sources through tsx. Here: the compiled entry points.
beforeAll(() => {
  const build = compileToScratch('build-test-');
  outDir = build.outDir;
  removeBuild = build.remove;
}, 120_000);
afterAll(() => removeBuild?.());

describe('the compiled API', () => {
  it('decodes a flow batch on a decoder thread running the compiled worker', async () => {
    const script = `
      import { createFlowDecoder } from ${JSON.stringify(join(outDir, 'functions/src/ingest/flow-decoder.js'))};
      const decoder = createFlowDecoder({ threads: 1 });
      const summary = { source: { identity: 1 }, destination: { identity: 2 }, l4: { protocol: 'TCP', destination_port: 80 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', packets: 1, bytes: 2, flows: 1 };
      const body = { batchId: '9b2f0d4e-3c1a-4f5e-8a7b-1c2d3e4f5a6b', sequence: 3, window: { start: '2026-11-20T10:00:00Z', end: '2026-11-20T10:01:00Z' }, summaries: [summary, summary] };
      const batch = await decoder.decode(new TextEncoder().encode(JSON.stringify(body)));
      const rejected = await decoder.decode(new TextEncoder().encode('{"batchId": 1}')).catch((e) => e);
      await decoder.close();
      console.log(JSON.stringify({ sequence: batch.sequence, summaryCount: batch.summaryCount, chunks: batch.chunks.length, rejected: [rejected.name, rejected.status, rejected.code] }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repo });
    expect(JSON.parse(stdout)).toEqual({ sequence: 3, summaryCount: 2, chunks: 1, rejected: ['ApiError', 400, 'ValidationFailed'] });
  });
});

describe('the compiled entry points', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  /** package.json names dist/… ; this build went to outDir instead. */
  const built = (distPath: string) => join(outDir, distPath.replace(/^dist\//, ''));
  const runNode = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, args, { cwd: repo, env: { ...process.env, NO_COLOR: '1', ...env } }).catch((error: { code: number; stdout: string; stderr: string }) => error);

  it('package.json bin names the compiled CLI, which starts with a node shebang and prints its version', async () => {
    expect(pkg.bin).toEqual({ fleetnet: 'dist/cli/fleetnet.js' });
    const cli = built(pkg.bin.fleetnet!);
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const { stdout } = await run(process.execPath, [cli, '--version'], { cwd: repo });
    expect(stdout.trim()).toBe(pkg.version);
  });

  describe('against the API', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startTestApi();
    });
    afterAll(async () => api?.close());

    it('the compiled CLI lists clusters and exits with the documented code for a missing one', async () => {
      await fetch(`${api.baseUrl}/clusters/built-1`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${api.tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: 'built-1' }, spec: {} }),
      });
      const env = { FLEETNET_API_URL: api.baseUrl, FLEETNET_TOKEN: api.tokens.admin };
      const listed = await runNode([built('dist/cli/fleetnet.js'), 'cluster', 'list'], env);
      expect(listed.stdout).toContain('built-1');
      const missing = await runNode([built('dist/cli/fleetnet.js'), 'cluster', 'get', 'no-such-cluster'], env);
      expect((missing as { code?: number }).code).toBe(5); // cli/exit-codes.ts: not found
      expect(missing.stderr).toContain('no-such-cluster');
    });
  });

  it('the compiled agent parses its options and refuses to start without credentials', async () => {
    const agent = built('dist/agent/src/main.js');
    const help = await runNode([agent, '--help']);
    expect(help.stdout).toContain('--poll-interval');
    const refused = await runNode([agent, '--api', 'http://127.0.0.1:9/api', '--cluster', 'c', '--node', 'n']);
    expect((refused as { code?: number }).code).not.toBe(0);
    expect(refused.stderr).toContain('one of --token-file or --workload-identity is required');
  });

  it('the compiled local host finds host.json above dist/ and serves the route table', async () => {
    const script = `
      import { startLocalHost } from ${JSON.stringify(join(outDir, 'functions/src/local-host/local-host.js'))};
      import { createOperations } from ${JSON.stringify(join(outDir, 'functions/src/routes.js'))};
      const host = await startLocalHost({ operations: createOperations(async () => ({})) /* health reads no service */ });
      const response = await fetch(host.baseUrl + '/healthz');
      console.log(JSON.stringify({ baseUrl: host.baseUrl.replace(/:\\d+/, ':PORT'), status: response.status }));
      await host.close();
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repo });
    expect(JSON.parse(stdout)).toEqual({ baseUrl: 'http://127.0.0.1:PORT/api', status: 200 });
  });
});
