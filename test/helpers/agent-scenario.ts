/**
 * One agent end to end for a suite (root): the real API with a cluster and the suite's policies, the
 * agent process (`agent/src/main.ts`) over a static endpoints file — the topology's pods, both
 * families, the local node's addresses being pod 1's gateway addresses — with its pins under a
 * per-run bpffs dir. `stop()` removes everything (agent, API, pins, namespaces, temp dir), also when
 * a step fails; call it from afterAll.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

import { Datapath } from '../../agent/src/kernel/datapath.js';
import { AgentProcess } from './agent-process.js';
import { startTestApi, type TestApi } from './api-harness.js';
import { createContractClient } from './contract-client.js';
import { clusterBody } from './fixtures.js';
import type { Topology } from './netns.js';
import type { FlowSummary } from '../../openapi/types.js';

export interface AgentScenarioOptions {
  cluster: string;
  node: string;
  /** the agent's identity (object id in the cluster's agentIdentities and its token) */
  agentId: string;
  topology: Topology;
  /** app label and pod name of each pod of the topology, in order */
  names: readonly string[];
  /** fleet NetworkPolicies: name → spec (targets are set to the cluster) */
  policies: Readonly<Record<string, Record<string, unknown>>>;
  /** more agent arguments (intervals, proxy options) */
  agentArgs?: readonly string[];
}

/** Polls `cond` every 250 ms until it holds; throws `timed out: <what>` after `timeoutMs`. */
export async function eventually(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await cond()); await new Promise((resolve) => setTimeout(resolve, 250))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
  }
}

export class AgentScenario {
  agent: AgentProcess | undefined;
  private constructor(
    readonly api: TestApi,
    readonly client: ReturnType<typeof createContractClient>,
    readonly work: string,
    readonly pinDir: string,
    readonly args: string[],
    private readonly topology: Topology,
    readonly cluster: string,
  ) {}

  static async start(o: AgentScenarioOptions): Promise<AgentScenario> {
    const api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
    const client = createContractClient(api.baseUrl);
    const work = mkdtempSync(join(tmpdir(), `fleetnet-${o.cluster}-`));
    const pinDir = `/sys/fs/bpf/fleetnet-test-${o.cluster}-${process.pid}`;
    const topo = o.topology;
    writeFileSync(join(work, 'token'), await api.issuer.mintToken({ role: 'Fleet.Agent', objectId: o.agentId, expiresInSeconds: 3600 }));
    writeFileSync(
      join(work, 'endpoints.yaml'),
      `endpoints:\n${topo.pods.map((p, i) => `  - {podName: ${o.names[i]}, namespace: ${o.cluster}, ips: [${p.ip}, "${p.ip6}"], labels: {app: ${o.names[i]}}}`).join('\n')}\n` +
        `nodes:\n  - {name: ${o.node}, local: true, ips: [${topo.pods[0]!.gatewayIp}, "${topo.pods[0]!.gatewayIp6}"]}\n`,
    );
    const args = [
      '--api', api.baseUrl, '--cluster', o.cluster, '--node', o.node, '--token-file', join(work, 'token'),
      '--pin-dir', pinDir, '--state-dir', join(work, 'state'), '--endpoints-file', join(work, 'endpoints.yaml'),
      '--netns', topo.node.nsPath, ...(o.agentArgs ?? []),
    ];
    const scenario = new AgentScenario(api, client, work, pinDir, args, topo, o.cluster);
    await client.call('PUT', `/clusters/${o.cluster}`, { token: api.tokens.admin, body: clusterBody(o.cluster, { env: o.cluster }, [o.agentId]) });
    for (const [name, spec] of Object.entries(o.policies)) {
      const put = await client.call('PUT', `/networkpolicies/${name}`, {
        token: api.tokens.admin,
        body: { apiVersion: 'fleetnet.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec: { targets: { clusterIds: [o.cluster] }, ...spec } },
      });
      expect(put.status).toBeLessThan(300);
    }
    return scenario;
  }

  /** Starts the agent; resolves once it runs and has programmed policy entries. */
  async startAgent(): Promise<AgentProcess> {
    this.agent = AgentProcess.start(this.args);
    await this.agent.waitFor((l) => l.msg === 'agent running');
    await this.agent.waitFor((l) => l.msg === 'programmed' && Number(l['policyEntries']) > 0, 20_000);
    return this.agent;
  }

  /** Every flow summary of this scenario's cluster since `since` matching `filter` (a FlowFilter's fields),
   *  all pages, through the real API as a reader. */
  async flows(since: string, filter: Record<string, unknown> = {}): Promise<FlowSummary[]> {
    const out: FlowSummary[] = [];
    let continuationToken: string | undefined;
    do {
      const q = await this.client.call('POST', '/flows/query', {
        token: this.api.tokens.reader,
        body: { since, maxPageSize: 1000, whitelist: [{ cluster: [this.cluster], ...filter }], ...(continuationToken ? { continuationToken } : {}) },
      });
      expect(q.status).toBe(200);
      out.push(...(q.body.items as { flow: FlowSummary }[]).map((i) => i.flow));
      continuationToken = q.body.continuationToken as string | undefined;
    } while (continuationToken);
    return out;
  }

  /** Kills the agent, closes the API, removes the pins, the namespaces and the temp dir. */
  async stop(): Promise<void> {
    try {
      await this.agent?.kill('SIGKILL');
      await this.api.close();
    } finally {
      try {
        if (existsSync(this.pinDir)) new Datapath({ pinDir: this.pinDir, netnsPath: this.topology.node.nsPath }).destroy();
      } finally {
        this.topology.destroy();
        rmSync(this.work, { recursive: true, force: true });
      }
    }
  }
}
