/**
 * DNS clients for tests and the benchmark: one query over UDP, several pipelined over one TCP connection.
 * Contracts: `queryUdp` resolves with the first datagram answering from the target, rejects after
 * `timeoutMs`; `queryTcp` writes all queries at once, half-closes, and resolves with every message the
 * server sent before it closed (without length prefixes), rejecting after `timeoutMs`.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-framing.js';

export function dnsQuery(id: number, name: string, type: dnsPacket.RecordType = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

export function queryUdp(host: string, port: number, message: Buffer, timeoutMs = 3000): Promise<Buffer> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no UDP answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', reject);
    socket.on('message', (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.send(message, port, host);
  }).finally(() => socket.close());
}

export function queryTcp(host: string, port: number, messages: Buffer[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const answers: Buffer[] = [];
    const reader = new DnsFrameReader();
    const socket = net.connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP exchange with ${host}:${port} not finished within ${timeoutMs} ms (${answers.length} answers)`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => answers.push(...reader.push(chunk)));
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(answers);
    });
    socket.end(Buffer.concat(messages.map(frameDnsMessage)));
  });
}
