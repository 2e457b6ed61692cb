/**
 * A DNS load client for bench/dns-redirect.ts, run INSIDE a pod's network namespace (nsenter):
 *   tsx bench/dns-load-client.ts <server> <port> <lanes> <durationMs> <names>
 * `lanes` UDP sockets, each with one query in flight (closed loop), names host-<i>.bench.test in turn,
 * A and AAAA alternating, for durationMs. Prints one JSON line: {answered, lost, seconds, latenciesMs}
 * (latencies sorted).
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';

const [server = '', portText = '53', lanesText = '16', durationText = '1000', namesText = '64'] = process.argv.slice(2);
const port = Number(portText);
const lanes = Number(lanesText);
const durationMs = Number(durationText);
const names = Number(namesText);
const TIMEOUT_MS = 1000;

const latenciesMs: number[] = [];
let lost = 0;
const started = performance.now();
const deadline = started + durationMs;

async function lane(index: number): Promise<void> {
  const socket = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, () => resolve()));
  let id = index * 1000;
  try {
    while (performance.now() < deadline) {
      id = (id + 1) & 0xffff;
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: id % 2 === 0 ? 'A' : 'AAAA', name: `host-${id % names}.bench.test` }] });
      const sent = performance.now();
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          socket.off('message', onMessage);
          resolve(false);
        }, TIMEOUT_MS);
        const onMessage = (answer: Buffer): void => {
          if (answer.readUInt16BE(0) !== id) return;
          clearTimeout(timer);
          socket.off('message', onMessage);
          resolve(true);
        };
        socket.on('message', onMessage);
        socket.send(query, port, server);
      });
      if (answered) latenciesMs.push(performance.now() - sent);
      else lost++;
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ answered: latenciesMs.length, lost, seconds, latenciesMs: latenciesMs.sort((a, b) => a - b) })}\n`);
