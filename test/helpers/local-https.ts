/**
 * HTTPS on loopback for the fakes of cloud services (fake-arm.ts, fake-entra.ts): a self-signed certificate
 * for 127.0.0.1 made with the openssl CLI at start (scripts/install.sh installs it), which clients trust
 * explicitly — nothing here or in a client turns TLS verification off:
 * - Azure SDK clients: `tlsOptions: { ca }`;
 * - Node code that takes a fetch (jose's remote JWKS): `fetchTrusting(ca)`;
 * - Chromium: `--ignore-certificate-errors-spki-list=<spkiSha256>` trusts this one key and nothing else.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LocalHttpsServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** the certificate the server presents (PEM) */
  ca: string;
  /** base64 SHA-256 of the certificate's public key (SubjectPublicKeyInfo), as Chromium's SPKI list wants it */
  spkiSha256: string;
  close(): Promise<void>;
}

/** Called with the whole request body read as UTF-8. A throw becomes a 500 with the error's text. */
export type LocalHttpsHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export async function startLocalHttpsServer(name: string, handle: LocalHttpsHandler): Promise<LocalHttpsServer> {
  const { key, cert } = await selfSignedLoopbackCert(name);
  const server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve()
        .then(() => handle(req, res, Buffer.concat(chunks).toString('utf8')))
        .catch((e: unknown) => {
          if (res.headersSent) return void res.destroy();
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: { code: 'InternalServerError', message: `${name}: ${String(e)}` } }));
        });
    });
  });
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const spki = createPublicKey(cert).export({ type: 'spki', format: 'der' });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

async function selfSignedLoopbackCert(name: string): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-tls-`));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
    ]);
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
  } catch (e) {
    throw new Error(`${name}: openssl could not make a certificate (is the openssl CLI installed?): ${String(e)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A fetch for GETs that trusts `ca` (and only the usual roots otherwise), for clients that accept a
 * fetch implementation — jose's `createRemoteJWKSet(url, { [customFetch]: fetchTrusting(ca) })`.
 */
export function fetchTrusting(ca: string): (url: string, init: { headers: Headers; signal?: AbortSignal }) => Promise<Response> {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(init.headers.entries());
      const req = request(url, { method: 'GET', ca, headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') responseHeaders.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: responseHeaders }));
        });
      });
      req.on('error', reject);
      req.end();
    });
}
