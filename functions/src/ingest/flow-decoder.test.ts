import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../openapi/types.js';
import { aggregateFlows, FlowAggregator } from '../../../core/flows/aggregate-flows.js';
import { compileFlowFilters } from '../../../core/flows/flow-filter.js';
import { importHubbleFlows } from '../../../core/flows/hubble-import.js';
import { buildServiceGraph, ServiceGraphBuilder } from '../../../core/flows/service-graph.js';
import { flowRecordOf } from '../domain/flow-scan.js';
import type { FlowChunkHeader } from '../store/flow-store.js';
import type { FlowFilters } from './fold-flow-chunks.js';
import { ApiError } from '../http/api-error.js';
import { decompressSummaries, encodeSummaryChunks } from '../store/flow-chunk-codec.js';
import { batch, createRandom, generateSummaries } from '../../../test/helpers/flow-fixtures.js';
import { createFlowDecoder } from './flow-decoder.js';

const threaded = createFlowDecoder({ threads: 2 });
const inline = createFlowDecoder({ threads: 0 });
afterAll(async () => {
  await threaded.close();
  await inline.close();
});

const body = batch(generateSummaries(1200, createRandom(3)), 4, '2026-11-20T10:00:00.000Z', { lost: { batches: 1, summaries: 20 } });
const bytesOf = (value: unknown, space?: number) => Buffer.from(JSON.stringify(value, null, space));

describe.each([
  { name: 'on decoder threads', decoder: threaded },
  { name: 'inline', decoder: inline },
])('flow batch decoder $name', ({ decoder }) => {
  it('turns a body into the chunks of its summaries, exactly as encoding the parsed summaries would', async () => {
    const decoded = await decoder.decode(bytesOf(body));
    const { summaries, ...header } = body;
    expect(decoded).toEqual({ ...header, summaryCount: 1200, chunks: encodeSummaryChunks(summaries) });
  });

  it('cuts the same chunks from a pretty-printed body (a reformatted retry keeps its chunk ids)', async () => {
    const compact = await decoder.decode(bytesOf(body));
    const pretty = await decoder.decode(bytesOf(body, 2));
    expect(pretty.chunks.map(({ index, first, count }) => [index, first, count])).toEqual(compact.chunks.map(({ index, first, count }) => [index, first, count]));
    expect(await Promise.all(pretty.chunks.map((c) => decompressSummaries(c.z)))).toEqual(await Promise.all(compact.chunks.map((c) => decompressSummaries(c.z))));
  });

  it('keeps non-ASCII text intact', async () => {
    const unicode = batch([{ ...body.summaries[0]!, destination_names: ['bücher.example', '例え.jp', '😀.example'] }], 0, '2026-11-20T10:00:00.000Z');
    const decoded = await decoder.decode(bytesOf(unicode));
    expect(await decompressSummaries(decoded.chunks[0]!.z)).toEqual(unicode.summaries);
  });

  it('turns a Hubble export into encoded batches, as importing and encoding it directly would', async () => {
    const bytes = readFileSync(new URL('../../../docs/examples/hubble-flows.jsonl', import.meta.url));
    const expected = importHubbleFlows(bytes.toString('utf8'), 'cluster-a', 60);
    const decoded = await decoder.decodeHubbleImport(new Uint8Array(bytes), 'cluster-a', 60);
    expect(decoded.batches.length).toBeGreaterThan(0);
    expect(decoded).toEqual({
      lines: expected.lines,
      imported: expected.imported,
      skipped: expected.skipped,
      batches: expected.batches.map(({ node, summaries, ...header }) => ({ node, batch: { ...header, summaryCount: summaries.length, chunks: encodeSummaryChunks(summaries) } })),
    });
  });

  it('folds pages of stored chunks into the aggregation and graph of the records its filters match', async () => {
    const summaries = generateSummaries(2500, createRandom(5));
    const header: FlowChunkHeader = { id: 'b.0', sk: 's', first: 0, pk: 'east|2026-11-20T10', clusterId: 'east', node: 'node-1', hour: '2026-11-20T10', time: '2026-11-20T10:01:00.000Z', windowStart: '2026-11-20T10:00:00.000Z', batchId: 'b', origin: 'agent' as const, ttl: 60 };
    const chunks = encodeSummaryChunks(summaries).map(({ index, first, count, z }) => ({ ...header, id: `b.${index}`, sk: `${header.time}|east|node-1|b|${index}`, first, count, z }));
    const filters: FlowFilters = { whitelist: [{ verdict: ['DROPPED'] }, { destination_port: ['5432'] }], blacklist: [{ source_pod: ['infra/'] }] };
    const matcher = compileFlowFilters(filters) as { matches: (r: FlowRecord) => boolean };
    const matching = summaries.map((flow) => flowRecordOf(header, flow)).filter(matcher.matches);
    expect(matching.length).toBeGreaterThan(100);
    expect(matching.length).toBeLessThan(summaries.length);

    const aggregator = new FlowAggregator(['source_namespace', 'verdict']);
    aggregator.merge(await decoder.aggregateChunks(filters, ['source_namespace', 'verdict'], chunks));
    expect(aggregator.result('bytes')).toEqual(aggregateFlows(matching, ['source_namespace', 'verdict'], 'bytes'));
    const graph = new ServiceGraphBuilder();
    graph.merge(await decoder.graphChunks(filters, chunks));
    expect(graph.result()).toEqual(buildServiceGraph(matching));
  });

  it.each([
    { name: 'malformed JSON', bytes: Buffer.from('{"batchId": '), status: 400, code: 'InvalidJson', pointer: '' },
    { name: 'a schema violation', bytes: bytesOf({ ...body, summaries: [{ ...body.summaries[0], verdict: 'MAYBE' }] }), status: 400, code: 'ValidationFailed', pointer: '/summaries/0/verdict' },
    { name: 'an unknown field', bytes: bytesOf({ ...body, extra: 1 }), status: 400, code: 'ValidationFailed', pointer: '/extra' },
  ])('rejects $name with the ApiError it deserves', async ({ bytes, status, code, pointer }) => {
    const error = await decoder.decode(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status, code });
    expect((error as ApiError).errors.map((e) => e.pointer)).toContain(pointer);
  });
});
