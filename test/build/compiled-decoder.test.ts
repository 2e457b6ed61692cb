import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
let outDir: string;

// What deploys is tsc's JavaScript (tsconfig.build.json), where decoder threads load the compiled
// worker — a path the TypeScript suites never take.
beforeAll(async () => {
  await mkdir(join(repo, '.fleetnet'), { recursive: true }); // inside the repo, so node_modules and openapi/ resolve
  outDir = await mkdtemp(join(repo, '.fleetnet', 'build-test-'));
  await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', outDir], { cwd: repo });
}, 120_000);
afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

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
