/** Cilium entities (pkg/policy/api/entity.go EntitySelectorMapping). Contract: names are case-sensitive. */
import type { FieldError } from '../../../openapi/types.js';

export const CILIUM_ENTITIES: readonly string[] = [
  'all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node',
  'kube-apiserver', 'ingress', 'init', 'health', 'unmanaged', 'none',
];

export function validateEntity(entity: string, pointer: string): FieldError[] {
  if (CILIUM_ENTITIES.includes(entity)) return [];
  return [{ pointer, message: `unknown entity "${entity}" (known: ${CILIUM_ENTITIES.join(', ')})`, rule: 'entity' }];
}
