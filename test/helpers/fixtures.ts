/** Request bodies the HTTP suites share. */

export function policyBody(name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = { team: 'payments' }) {
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, labels },
    spec: {
      endpointSelector: { matchLabels: { app: 'web' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
      ...spec,
    },
  };
}

export function clusterBody(id: string, labels: Record<string, string>, agentIdentities: string[] = []) {
  return { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: id, labels }, spec: { agentIdentities } };
}

export function nodeBody(name: string) {
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'Node',
    metadata: { name },
    spec: { agentVersion: '0.1.0', kernelVersion: '6.18.0', capabilities: { tcx: true, btf: true } },
  };
}

export function encryptionBody(spec: Record<string, unknown>) {
  return { apiVersion: 'fleetnet.io/v1', kind: 'EncryptionSettings', metadata: { name: 'fleet' }, spec };
}
