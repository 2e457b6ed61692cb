/** A small HTTP client for the fleetnet API: bearer token, JSON in and out, problem+json as errors. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { code?: string; detail?: string; errors?: Array<{ pointer: string; message: string }> } | undefined,
  ) {
    const details = problem?.errors?.map((e) => `  ${e.pointer || '/'}: ${e.message}`).join('\n');
    super(`${status} ${problem?.code ?? ''}: ${problem?.detail ?? 'request failed'}${details ? `\n${details}` : ''}`);
    this.name = 'ApiCallError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token: () => Promise<string | undefined>;
  fetch?: typeof fetch;
}

export class ApiClient {
  private readonly fetch: typeof fetch;
  constructor(private readonly options: ApiClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** Sends a request; returns the response when 2xx, throws ApiCallError otherwise. */
  async raw(method: string, path: string, body?: { text: string; contentType: string }): Promise<Response> {
    const token = await this.options.token();
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body) headers['content-type'] = body.contentType;
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    const response = await this.fetch(url, { method, headers, body: body?.text }).catch((error: unknown) => {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new Error(`cannot reach ${url}${cause ? ` (${cause})` : ''}; is the API running (npm start) and --api-url / FLEETNET_API_URL right?`);
    });
    if (!response.ok) {
      const text = await response.text();
      let problem: ApiCallError['problem'];
      try {
        problem = JSON.parse(text) as ApiCallError['problem'];
      } catch {
        problem = { detail: text.slice(0, 200) };
      }
      throw new ApiCallError(response.status, problem);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.raw(method, path, body === undefined ? undefined : { text: JSON.stringify(body), contentType: 'application/json' });
    return (await response.json()) as T;
  }
}
