/**
 * The child side of NsChild (ns-child.ts): a helper process inside a network namespace reads one JSON
 * request per stdin line ({id, op, ...}), answers each with one JSON line ({id, ...result} or
 * {id, failure}), announces itself with {id: 0, ready: true}, and runs `onClose` then exits when stdin
 * closes (the test stopped it).
 */
import { createInterface } from 'node:readline';

export type NsRequest = { id: number; op: string; [k: string]: unknown };

export function serveNsRequests(handle: (request: NsRequest) => Promise<object>, onClose: () => void): void {
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const r = JSON.parse(line) as NsRequest;
      handle(r).then(
        (res) => process.stdout.write(`${JSON.stringify({ id: r.id, ...res })}\n`),
        (e: unknown) => process.stdout.write(`${JSON.stringify({ id: r.id, failure: String(e) })}\n`),
      );
    })
    .on('close', () => {
      onClose();
      process.exit(0);
    });
  process.stdout.write(`${JSON.stringify({ id: 0, ready: true })}\n`);
}
