import { forbidden } from '../http/api-error.js';
import type { FleetRole, Principal } from './principal.js';

/**
 * Authorization rules, pure over a Principal. Each `require*` returns normally when allowed and
 * throws `forbidden(...)` (403) otherwise. Messages name the missing role or the requested cluster,
 * never anything about other clusters.
 */

const hasRole = (p: Principal, role: FleetRole): boolean => p.roles.includes(role);

/** True for Fleet.Reader or Fleet.Admin (Admin implies read). Fleet.Agent alone is not enough. */
export const canReadFleet = (p: Principal): boolean => hasRole(p, 'Fleet.Admin') || hasRole(p, 'Fleet.Reader');

/** Fleet-wide reads: see canReadFleet. */
export function requireReader(p: Principal): void {
  if (canReadFleet(p)) return;
  throw forbidden('This operation requires the Fleet.Reader or Fleet.Admin role.');
}

/** Fleet-wide writes: Fleet.Admin. */
export function requireAdmin(p: Principal): void {
  if (hasRole(p, 'Fleet.Admin')) return;
  throw forbidden('This operation requires the Fleet.Admin role.');
}

/** The part of a Cluster that agent authorization needs. */
export interface ClusterAgentBinding {
  id: string;
  /** Object ids (`oid`) or client/app ids (`azp`/`appid`) allowed to act as this cluster's agents. */
  agentIdentities: readonly string[];
}

/**
 * Node endpoints of one cluster (register, desired state, status, flows): Fleet.Admin, or
 * Fleet.Agent whose objectId or appId is one of the cluster's agentIdentities. Ids are GUIDs and are
 * compared case-insensitively.
 */
export function requireClusterAgent(p: Principal, cluster: ClusterAgentBinding): void {
  if (hasRole(p, 'Fleet.Admin')) return;
  if (!hasRole(p, 'Fleet.Agent')) {
    throw forbidden('This operation requires the Fleet.Agent or Fleet.Admin role.');
  }
  const bound = new Set(cluster.agentIdentities.map((id) => id.toLowerCase()));
  const own = [p.objectId, p.appId].filter((id): id is string => id !== undefined && id !== '');
  if (own.some((id) => bound.has(id.toLowerCase()))) return;
  throw forbidden(`This identity is not an agent of cluster '${cluster.id}'.`);
}

/**
 * Actor string for audit fields (metadata.createdBy/updatedBy, revisions):
 * `oid:<objectId>`, else `app:<appId>`, else `sub:<subject>`.
 */
export function describeActor(p: Principal): string {
  if (p.objectId) return `oid:${p.objectId}`;
  if (p.appId) return `app:${p.appId}`;
  return `sub:${p.subject}`;
}

/** Reads of one cluster's node data: anyone with fleet-wide read, or that cluster's agent. */
export function requireClusterReader(p: Principal, cluster: ClusterAgentBinding): void {
  if (canReadFleet(p)) return;
  requireClusterAgent(p, cluster);
}
