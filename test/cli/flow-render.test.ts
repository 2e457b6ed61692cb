import { describe, expect, it } from 'vitest';
import { describeLayer7, FLOW_HEADERS, flowRows, rcodeName } from '../../cli/render.js';
import type { FlowRecord } from '../../openapi/types.js';
import { dnsSummary, httpSummary, summary } from '../helpers/flow-fixtures.js';

const at = (flow: FlowRecord['flow']): FlowRecord => ({ time: '2026-11-30T10:01:00.000Z', cluster: 'east', node_name: 'n1', window: { start: '2026-11-30T10:00:00.000Z', end: '2026-11-30T10:01:00.000Z' }, flow });

describe('DNS summaries in the flows table', () => {
  it.each<{ name: string; flow: FlowRecord['flow']; want: string }>([
    { name: 'answered: query, qtypes, rcode name, addresses, ttl', flow: dnsSummary(), want: 'dns api.github.com. A → NOERROR 140.82.121.5,140.82.121.6 ttl 60s' },
    { name: 'refused: no addresses, no ttl', flow: dnsSummary({ rcode: 5, ips: [], ttl: 0 }), want: 'dns api.github.com. A → REFUSED' },
    { name: 'NXDOMAIN with two qtypes', flow: dnsSummary({ query: 'nope.example.', qtypes: ['A', 'AAAA'], rcode: 3, ips: [] }), want: 'dns nope.example. A,AAAA → NXDOMAIN' },
    { name: 'more than three addresses: the first three and a count', flow: dnsSummary({ ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'], ttl: 5 }), want: 'dns api.github.com. A → NOERROR 10.0.0.1,10.0.0.2,10.0.0.3 +2 ttl 5s' },
    { name: 'no qtypes, an unnamed rcode', flow: dnsSummary({ qtypes: [], rcode: 23, ips: [] }), want: 'dns api.github.com. - → RCODE_23' },
    { name: 'an L4 summary: empty', flow: summary(), want: '' },
  ])('$name', ({ flow, want }) => {
    expect(describeLayer7(flow)).toBe(want);
    const row = flowRows([at(flow)])[0]!;
    expect(row).toHaveLength(FLOW_HEADERS.length);
    expect(row.at(-1)).toBe(want);
  });

  it.each<{ name: string; flow: FlowRecord['flow']; want: string }>([
    { name: 'HTTP: method, path key, code, protocol', flow: httpSummary(), want: 'http GET /v1/items → 404 HTTP/1.1' },
    { name: 'HTTP without a response', flow: httpSummary({ code: 0 }), want: 'http GET /v1/items → no response HTTP/1.1' },
    { name: 'HTTP connection-level record', flow: httpSummary({ method: '', url: '', code: 0 }), want: 'http - - → no response HTTP/1.1' },
  ])('$name', ({ flow, want }) => {
    expect(describeLayer7(flow)).toBe(want);
    expect(flowRows([at(flow)])[0]!.at(-1)).toBe(want);
  });

  it('rcode names as Hubble prints them', () => {
    expect([0, 1, 2, 3, 4, 5, 9, 16].map(rcodeName)).toEqual(['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'NOTAUTH', 'RCODE_16']);
  });
});
