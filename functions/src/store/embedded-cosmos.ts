import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';

/**
 * An in-process Cosmos DB server (@vercel/cosmosdb-server) speaking the Cosmos REST protocol over
 * HTTPS with a self-signed certificate. For local runs and tests only.
 * Its known gaps (no GROUP BY/DISTINCT/OFFSET LIMIT, TTL ignored, no transactional batch, request
 * charge always 1) are listed in DESIGN.md; the product must not depend on those features.
 */
export interface EmbeddedCosmos {
  endpoint: string;
  /** The emulator accepts any key; this is the public, well-known Cosmos emulator key (not a secret). */
  key: string;
  /** An https.Agent that accepts the emulator's self-signed certificate. Use it only for this endpoint. */
  agent: https.Agent;
  /** Requests the server has received so far (tests count the cost of an operation with it). */
  requestCount(): number;
  close(): Promise<void>;
}

const WELL_KNOWN_EMULATOR_KEY =
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/** Starts the server on 127.0.0.1 (port 0 = any free port). */
export async function startEmbeddedCosmos(port = 0): Promise<EmbeddedCosmos> {
  // keepAlive is read by the emulator's own request handler (not part of https.ServerOptions).
  const server = createHttpsServer({ keepAlive: true } as https.ServerOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let requests = 0;
  server.on('request', () => requests++);
  const { port: boundPort } = server.address() as AddressInfo;
  const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64 });
  return {
    endpoint: `https://127.0.0.1:${boundPort}`,
    key: WELL_KNOWN_EMULATOR_KEY,
    agent,
    requestCount: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
