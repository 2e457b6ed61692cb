import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createFleetnetClient } from '../../openapi/client.js';
import { createSchemaValidator, findOpenApiDocumentPath, type SchemaName } from '../../core/schema/compile-schema-validator.js';

interface SpecResponse {
  $ref?: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface SpecOperation {
  operationId: string;
  responses: Record<string, SpecResponse>;
}
interface SpecDocument {
  paths: Record<string, Record<string, SpecOperation>>;
  components: { responses: Record<string, SpecResponse> };
}

export const openApiDocument = parseYaml(readFileSync(findOpenApiDocumentPath(), 'utf8')) as SpecDocument;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Every operation of the spec: method (upper case), path template and operationId. */
export function specOperations(): { method: string; path: string; operationId: string }[] {
  return Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method]).map((method) => ({ method: method.toUpperCase(), path, operationId: item[method]!.operationId })),
  );
}

function findOperation(method: string, path: string): SpecOperation | undefined {
  const parts = path.split('/').filter(Boolean);
  const candidates = Object.entries(openApiDocument.paths)
    .filter(([template]) => {
      const segments = template.split('/').filter(Boolean);
      return segments.length === parts.length && segments.every((s, i) => s.startsWith('{') || s === parts[i]);
    })
    // Literal segments win over parameters, as in the router.
    .sort(([a], [b]) => a.split('{').length - b.split('{').length);
  for (const [, item] of candidates) {
    const operation = item[method.toLowerCase()];
    if (operation) return operation;
  }
  return undefined;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  body: any;
  operationId: string | undefined;
}

export interface CallOptions {
  token?: string;
  /** JSON-encoded unless `rawBody` is given. */
  body?: unknown;
  /** Sent as is (bytes e.g. for a compressed body with a Content-Encoding header). */
  rawBody?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * The product's API client (openapi/client.ts) used untyped, for the tests: it sends what a test asks —
 * requests the contract forbids included, which the typed calls cannot express — and checks every answer
 * against openapi.yaml: the status must be one the operation declares, and a declared body must have the
 * declared media type and validate against the declared schema. Any mismatch throws, failing the test
 * that made the call. Operations seen are recorded.
 */
export function createContractClient(baseUrl: string) {
  const covered = new Set<string>();
  /** each answer's body as sent, read before the client parses it */
  const texts = new WeakMap<Response, string>();
  const client = createFleetnetClient({
    baseUrl,
    token: async () => undefined, // each call carries its own
    timeoutMs: 120_000,
    headers: {},
    fetch: async (request) => {
      const answer = await fetch(request);
      const text = await answer.text();
      const copy = new Response(text === '' ? null : text, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
      texts.set(copy, text);
      return copy;
    },
  });
  // untyped on purpose: any method, any path (query string included), any body
  const request = client.request as unknown as (method: string, url: string, init: Record<string, unknown>) => Promise<{ response: Response }>;

  async function call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const { response } = await request(method.toLowerCase(), path, {
      headers,
      ...(payload === undefined ? {} : { body: payload, bodySerializer: (body: unknown) => body }),
      parseAs: 'stream',
    });
    const text = texts.get(response) ?? '';
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const pathOnly = path.split('?')[0]!;
    const operation = findOperation(method, pathOnly);
    if (operation) {
      covered.add(operation.operationId);
      checkAgainstSpec(operation, method, pathOnly, response, body);
    } else if (![404, 405].includes(response.status)) {
      throw new Error(`${method} ${pathOnly} is not in the spec but answered ${response.status}`);
    }
    return { status: response.status, headers: response.headers, text, body, operationId: operation?.operationId };
  }
  return { call, covered };
}

function checkAgainstSpec(operation: SpecOperation, method: string, path: string, response: Response, body: unknown): void {
  const where = `${method} ${path} (${operation.operationId}) → ${response.status}`;
  let declared = operation.responses[String(response.status)];
  if (!declared) throw new Error(`${where}: status not declared in the spec`);
  if (declared.$ref) declared = openApiDocument.components.responses[declared.$ref.split('/').pop()!]!;
  const content = declared.content;
  if (!content) return;
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const entry = content[mediaType];
  if (!entry) throw new Error(`${where}: content type ${mediaType} not declared (${Object.keys(content).join(', ')})`);
  const ref = entry.schema?.$ref;
  if (!ref) return;
  const errors = createSchemaValidator(ref.split('/').pop() as SchemaName)(body);
  if (errors.length > 0) throw new Error(`${where}: body does not match ${ref}: ${JSON.stringify(errors.slice(0, 5))}`);
}
