/**
 * A DNS load client for bench/dns-redirect.ts, run INSIDE a pod's network namespace (nsenter):
 *   tsx bench/dns-load-client.ts <server> <port> <lanes> <durationMs> <names>
 * runDnsLanes (bench/dns-query-lanes.ts) for durationMs. Prints one JSON line:
 * {answered, lost, seconds, cpuMs, latenciesMs} (latencies sorted).
 */
import { runDnsLanes } from './dns-query-lanes.js';

const [server = '', port = '53', lanes = '16', durationMs = '1000', names = '64'] = process.argv.slice(2);
const r = await runDnsLanes({ server, port: Number(port), lanes: Number(lanes), durationMs: Number(durationMs), names: Number(names) });
process.stdout.write(`${JSON.stringify({ answered: r.latenciesMs.length, lost: r.lost, seconds: r.seconds, cpuMs: r.cpuMs, latenciesMs: r.latenciesMs })}\n`);
