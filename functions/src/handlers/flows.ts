import type { HttpRequest } from '@azure/functions';
import type { FlowAggregationQuery, FlowCoverage, FlowQuery, FlowWindowQuery } from '../../../openapi/types.js';
import { csvHeader, toCsvRow, toNdjsonLine } from '../../../core/flows/flow-export.js';
import type { AppServices } from '../app-services.js';
import { canReadFleet, requireAdmin, requireClusterAgent, requireReader } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import { forbidden, notFound, validationFailed } from '../http/api-error.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { readBodyBytes } from '../http/read-body.js';
import { integerQueryParam, pathParam, readValidBody } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/** A full batch (5000 summaries) with long label lists stays well below this. */
const INGEST_MAX_BYTES = 16 * 1024 * 1024;
const IMPORT_MAX_BYTES = 64 * 1024 * 1024;

/** The agent of this cluster (or an admin). Same answer as the desired-state poll: 403 for unknown clusters unless the caller can read the fleet. */
async function requireAgentOf(request: HttpRequest, services: AppServices, principal: Principal): Promise<string> {
  const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
  const agentIdentities = await services.desiredState.reader.clusterAgents(clusterId);
  if (!agentIdentities) {
    if (canReadFleet(principal)) throw notFound(`Cluster "${clusterId}"`);
    throw forbidden(`This identity is not an agent of cluster '${clusterId}'.`);
  }
  requireClusterAgent(principal, { id: clusterId, agentIdentities });
  return clusterId;
}

function summarizeCoverage(coverage: FlowCoverage): string {
  const nodes = coverage.clusters.flatMap((c) => c.nodes);
  const gaps = nodes.reduce((n, node) => n + node.gaps.length, 0);
  const lost = nodes.reduce((n, node) => n + node.lost.summaries, 0);
  const lostPackets = nodes.reduce((n, node) => n + node.lost.packets, 0);
  return `complete=${coverage.complete};clusters=${coverage.clusters.length};nodes=${nodes.length};gaps=${gaps};lost=${lost};lostPackets=${lostPackets}`;
}

export const flowOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(
    services,
    { operationId: 'ingestFlowSummaries', method: 'POST', route: 'clusters/{clusterId}/nodes/{nodeName}/flows', maxBodyBytes: INGEST_MAX_BYTES },
    async ({ request, services, principal }) => {
      const clusterId = await requireAgentOf(request, services, principal);
      const node = pathParam(request, 'nodeName', 'ResourceName');
      const { bytes } = await readBodyBytes(request, ['json'], INGEST_MAX_BYTES);
      return jsonResponse(200, await services.flows.ingest(clusterId, node, await services.flowDecoder.decode(bytes)));
    },
  ),
  defineOperation(
    services,
    { operationId: 'importHubbleFlows', method: 'POST', route: 'clusters/{clusterId}/flowimports', maxBodyBytes: IMPORT_MAX_BYTES },
    async ({ request, services, principal }) => {
      requireAdmin(principal);
      const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
      const windowSeconds = integerQueryParam(request, 'windowSeconds', 60, 1, 3600);
      await services.clusters.get(clusterId);
      const { bytes } = await readBodyBytes(request, ['ndjson'], IMPORT_MAX_BYTES);
      return jsonResponse(200, await services.flows.importHubble(clusterId, await services.flowDecoder.decodeHubbleImport(bytes, clusterId, windowSeconds)));
    },
  ),
  defineOperation(services, { operationId: 'queryFlows', method: 'POST', route: 'flows/query' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return jsonResponse(200, await services.flows.query(await readValidBody<FlowQuery>(request, 'FlowQuery'), 'query'));
  }),
  defineOperation(services, { operationId: 'exportFlows', method: 'POST', route: 'flows/export' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const format = request.query.get('format') ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'csv') throw validationFailed([{ pointer: '/query/format', message: 'must be ndjson or csv', rule: 'enum' }], 'The query parameters are invalid.');
    const page = await services.flows.query(await readValidBody<FlowQuery>(request, 'FlowQuery'), 'export');
    const body = format === 'csv' ? csvHeader() + page.items.map(toCsvRow).join('') : page.items.map(toNdjsonLine).join('');
    const headers: Record<string, string> = {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'Flow-Coverage': summarizeCoverage(page.coverage),
    };
    if (page.continuationToken) headers['Continuation-Token'] = page.continuationToken;
    return { status: 200, headers, body };
  }),
  defineOperation(services, { operationId: 'aggregateFlows', method: 'POST', route: 'flows/aggregations' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return jsonResponse(200, await services.flows.aggregate(await readValidBody<FlowAggregationQuery>(request, 'FlowAggregationQuery')));
  }),
  defineOperation(services, { operationId: 'getServiceGraph', method: 'POST', route: 'flows/servicegraph' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return jsonResponse(200, await services.flows.serviceGraph(await readValidBody<FlowWindowQuery>(request, 'FlowWindowQuery')));
  }),
];
