/**
 * The exact request @azure/arm-containerservice sends for a managed cluster PUT, without sending it: the
 * real client's own serializer runs, and a capturing HttpClient (the pipeline's documented transport
 * extension point) takes the request instead of the network. A remediation's dry run shows this; the apply
 * then hands the same model and options to the real client, so the body ARM receives is the one shown.
 * Nothing leaves the process: the endpoint is a reserved `.invalid` name, the credential a placeholder.
 */
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import type { HttpClient, PipelineRequest } from '@azure/core-rest-pipeline';
import type { ManagedClusterRef } from './arm-access.js';

export interface ManagedClusterPut {
  method: 'PUT';
  /** the resource path as sent (ARM's casing of the SDK's template) */
  path: string;
  apiVersion: string;
  ifMatch: string;
  /** the JSON body as sent */
  body: Record<string, unknown>;
}

const CAPTURE_ENDPOINT = 'https://arm.capture.invalid';
const PLACEHOLDER_CREDENTIAL = { getToken: async () => ({ token: 'capture-only', expiresOnTimestamp: Date.now() + 60_000 }) };

class Captured extends Error {
  constructor(readonly request: PipelineRequest) {
    super('captured');
  }
}

export async function captureManagedClusterPut(ref: ManagedClusterRef, model: ManagedCluster, ifMatch: string): Promise<ManagedClusterPut> {
  const httpClient: HttpClient = {
    sendRequest: async (request) => {
      throw new Captured(request);
    },
  };
  const client = new ContainerServiceClient(PLACEHOLDER_CREDENTIAL, ref.subscriptionId, { endpoint: CAPTURE_ENDPOINT, httpClient, retryOptions: { maxRetries: 0 } });
  try {
    await client.managedClusters.createOrUpdate(ref.resourceGroup, ref.name, model, { ifMatch }).submitted();
  } catch (error) {
    if (!(error instanceof Captured)) throw error;
    const url = new URL(error.request.url);
    const raw = error.request.body;
    if (typeof raw !== 'string') throw new Error('the SDK sent a managed cluster body that is not JSON text');
    return {
      method: 'PUT',
      path: decodeURIComponent(url.pathname),
      apiVersion: url.searchParams.get('api-version') ?? '',
      ifMatch: error.request.headers.get('if-match') ?? ifMatch,
      body: JSON.parse(raw) as Record<string, unknown>,
    };
  }
  throw new Error('the SDK sent no request for a managed cluster PUT');
}
