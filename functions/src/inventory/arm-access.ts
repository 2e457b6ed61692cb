/**
 * fleetnet's access to Azure Resource Manager for AKS managed clusters: one real
 * `ContainerServiceClient` (@azure/arm-containerservice) per subscription, the credential (the Function
 * app's managed identity through DefaultAzureCredential unless one is given), and the two things every
 * caller needs — where a resource id points, and what an ARM failure was, in words fit for an API answer
 * (status, ARM's error code, message; never a token or a header).
 */
import { ContainerServiceClient, type ContainerServiceClientOptionalParams } from '@azure/arm-containerservice';
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import type { InventoryError } from '../../../openapi/types.js';

export interface ArmAccessOptions {
  /** ARM endpoint (default https://management.azure.com) */
  endpoint?: string;
  /** default: DefaultAzureCredential (managed identity in Azure) */
  credential?: TokenCredential;
  /** further client options (tests: `tlsOptions` to trust a local server, shorter `retryOptions`) */
  clientOptions?: ContainerServiceClientOptionalParams;
  /** ms between polls of ARM's long-running operations (default: the SDK's, or ARM's Retry-After) */
  pollIntervalMs?: number;
}

export class ArmAccess {
  private readonly clients = new Map<string, ContainerServiceClient>();
  private credential: TokenCredential | undefined;

  constructor(private readonly options: ArmAccessOptions = {}) {}

  get pollIntervalMs(): number | undefined {
    return this.options.pollIntervalMs;
  }

  /** The client of one subscription (created once). */
  client(subscriptionId: string): ContainerServiceClient {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      this.credential ??= this.options.credential ?? new DefaultAzureCredential();
      client = new ContainerServiceClient(this.credential, subscriptionId, {
        ...this.options.clientOptions,
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }
}

export interface ManagedClusterRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)$/i;

/** The parts of a managed cluster's resource id (ClusterSpec.armResourceId's pattern); undefined otherwise. */
export function parseManagedClusterId(resourceId: string): ManagedClusterRef | undefined {
  const match = RESOURCE_ID.exec(resourceId);
  return match ? { subscriptionId: match[1]!, resourceGroup: match[2]!, name: match[3]! } : undefined;
}

/** ARM resource ids compare case-insensitively. */
export const sameResourceId = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** An ARM failure as the SDK throws it (RestError: statusCode, code, message) → status, code, message. */
export function armErrorOf(error: unknown): InventoryError {
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown; details?: { error?: { code?: unknown; message?: unknown } } };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 0;
  const code = stringOr(e?.details?.error?.code, stringOr(e?.code, status === 0 ? 'ArmUnreachable' : `Http${status}`));
  const message = stringOr(e?.details?.error?.message, stringOr(e?.message, 'Azure Resource Manager request failed'));
  return { status, code, message: message.slice(0, 1024) };
}

/** ARM answered 404 for the resource (deleted, or never there). */
export const isArmNotFound = (error: unknown): boolean => armErrorOf(error).status === 404;

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.length > 0 ? value : fallback;
}
