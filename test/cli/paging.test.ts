import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run-cli.js';

describe('lists follow nextLink to the end', () => {
  it.each([
    { name: 'cluster list', args: ['cluster', 'list'], first: '/api/clusters?maxPageSize=500' },
    { name: 'policy list', args: ['policy', 'list'], first: '/api/networkpolicies?maxPageSize=500' },
    { name: 'policy history', args: ['policy', 'history', 'p'], first: '/api/networkpolicies/p/revisions?maxPageSize=500' },
  ])('$name', async ({ args, first }) => {
    const requested: string[] = [];
    const item = (n: number) => ({ metadata: { name: `item-${n}` }, spec: {}, generation: n, timestamp: 't', actor: 'a', operation: 'create' });
    const fakeFetch = (async (request: Request) => {
      const url = new URL(request.url);
      requested.push(`${url.pathname}${url.search}`);
      const token = url.searchParams.get('continuationToken');
      const page = token === null ? { items: [item(1)], nextLink: `${url.origin}${url.pathname}?maxPageSize=500&continuationToken=two` } : { items: [item(2)], nextLink: null };
      return new Response(JSON.stringify(page), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    let out = '';
    const code = await runCli([...args, '-o', 'json', '--api-url', 'http://fleet.example/api', '--token', 't'], { out: (t) => (out += t), err: () => {}, env: {}, fetch: fakeFetch });
    expect(code).toBe(0);
    expect(requested).toEqual([first, `${first.split('?')[0]}?maxPageSize=500&continuationToken=two`]);
    expect(JSON.parse(out)).toHaveLength(2);
  });
});
