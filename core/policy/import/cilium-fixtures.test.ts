/**
 * Every upstream Cilium example under ../shared/fixtures/cilium-policies (third-party, never edited)
 * imported as a body of its own. The table below is the list of outcomes per file and document:
 * `imported` with the fleet name (and the note in the outcome's reason, if any), or `rejected` with a
 * reason fragment and the source pointer of the first error. A fixture missing from the table, or a
 * table entry without a fixture, fails the test. Where the fixtures are absent the suite is skipped and
 * says why (test/helpers/upstream-fixtures.ts).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as upstream from '../../../test/helpers/upstream-fixtures.js';
import { createSchemaValidator } from '../../schema/compile-schema-validator.js';
import { validatePolicySpec } from '../validate-policy-spec.js';
import { collectImportedPolicies, importPolicyDocuments } from './import-policy-documents.js';

// CI clones the repo with shared/ beside it.
const FIXTURES = upstream.CILIUM_POLICIES;

type Want = { imported: string; note?: string } | { rejected: string; pointer?: string };

const NOT_A_POLICY = (kind: string): Want => ({ rejected: `kind ${kind} is not a network policy` });

const EXPECTED: Record<string, Want[]> = {
  // `auth:` was removed from Cilium's rule (replaced by `authentication: {mode}`); an unknown field in a rule changes what it enforces.
  'auth/auth.yaml': [{ rejected: 'unknown field', pointer: '/spec/egress/0/auth' }],
  // toCIDR and toCIDRSet in ONE egress rule: Cilium's validation refuses combining L3 peer kinds (l3/cidr/cidr.yaml splits them).
  'cidr.yaml': [{ rejected: 'toCIDR and toCIDRSet cannot be combined', pointer: '/spec/egress/0/toCIDRSet' }],
  'entities.yaml': [{ imported: 'default.entities-rule' }],
  'getting-started/cilium_dkr_demo_l3-l4-policy-170817.yaml': [{ imported: 'default.l3-rule' }],
  'getting-started/cilium_dkr_demo_l7-policy-230817.yaml': [{ imported: 'default.l7-rule' }],
  'getting-started/dns-matchname.yaml': [{ imported: 'default.fqdn' }],
  'getting-started/dns-pattern.yaml': [{ imported: 'default.fqdn' }],
  'getting-started/dns-port.yaml': [{ imported: 'default.fqdn' }],
  'getting-started/kafka.yaml': [{ imported: 'default.rule2' }],
  'getting-started/l3-l4-policy.yaml': [{ imported: 'default.l3-l4-rule' }],
  'getting-started/l7-policy.yaml': [{ imported: 'default.l7-rule' }],
  // VRRP without `port`: Cilium allows "empty or 0" for portless protocols; the contract requires port → "0" (noted).
  'host/allow-extended-protocols.yaml': [{ imported: 'allow-extended-egress-worker-node', note: "set /spec/egress/0/toPorts/0/ports/5/port to \"0\" (VRRP has no ports)" }],
  'host/demo-host-policy.yaml': [{ imported: 'demo-host-policy' }],
  'host/lock-down-dev-vms-cidr-node.yaml': [{ imported: 'lock-down-dev-vms' }],
  'host/lock-down-dev-vms-remote-node.yaml': [{ imported: 'lock-down-dev-vms' }],
  'host/lock-down-dev-vms.yaml': [{ imported: 'lock-down-dev-vms' }],
  'host/lock-down-gke.yaml': [{ imported: 'lock-down-gke' }],
  // Upstream placeholder port "REMOVE_ME_AFTER_DOUBLE_CHECKING_PORTS": longer than a port name (15) and not a number.
  'host/lock-down-ingress.yaml': [{ rejected: 'must NOT have more than 15 characters', pointer: '/spec/ingress/1/toPorts/0/ports/5/port' }],
  'kubernetes/clustermesh/cross-cluster-any-namespace-policy.yaml': [{ imported: 'default.allow-cross-cluster-any-ns' }],
  'kubernetes/clustermesh/cross-cluster-policy.yaml': [{ imported: 'default.allow-cross-cluster', note: "ignored /metadata/description" }],
  'kubernetes/clusterwide/clusterscope-policy.yaml': [{ imported: 'clusterwide-policy-example' }],
  'kubernetes/clusterwide/health.yaml': [{ imported: 'cilium-health-checks' }],
  'kubernetes/clusterwide/wildcard-from-endpoints.yaml': [{ imported: 'wildcard-from-endpoints', note: "ignored /description" }],
  'kubernetes/namespace/demo-pods.yaml': [NOT_A_POLICY('Namespace'), NOT_A_POLICY('Namespace'), NOT_A_POLICY('Deployment'), NOT_A_POLICY('Service'), NOT_A_POLICY('Pod'), NOT_A_POLICY('Pod')],
  'kubernetes/namespace/isolate-namespaces.yaml': [{ imported: 'ns1.isolate-ns1' }, { imported: 'ns2.isolate-ns1' }],
  'kubernetes/namespace/kubedns-policy.yaml': [{ imported: 'public.allow-to-kubedns' }],
  'kubernetes/namespace/namespace-labels-policy.yaml': [{ imported: 'default.alliance-only' }],
  'kubernetes/namespace/namespace-policy.yaml': [{ imported: 'ns1.k8s-expose-across-namespace' }],
  'kubernetes/serviceaccount/demo-pods.yaml': [NOT_A_POLICY('ServiceAccount'), NOT_A_POLICY('ServiceAccount'), NOT_A_POLICY('ServiceAccount'), NOT_A_POLICY('Deployment'), NOT_A_POLICY('Service'), NOT_A_POLICY('Pod'), NOT_A_POLICY('Pod')],
  'kubernetes/serviceaccount/serviceaccount-policy.yaml': [{ imported: 'default.k8s-svc-account' }],
  'l3/cidr/cidr.yaml': [{ imported: 'default.cidr-rule' }],
  'l3/egress-allow-all/egress-allow-all.yaml': [{ imported: 'default.allow-all-from-frontend' }],
  'l3/egress-default-deny/egress-default-deny.yaml': [{ imported: 'default.deny-all-egress' }],
  'l3/egress-deny/egress-deny.yaml': [{ imported: 'default.deny-egress-example' }],
  'l3/entities/apiserver.yaml': [{ imported: 'default.dev-to-kube-apiserver' }],
  'l3/entities/customnodes.yaml': [{ imported: 'default.to-prod-from-control-plane-nodes' }],
  // Lower-case `apiversion`: field names are case-sensitive; Kubernetes finds no apiVersion either.
  'l3/entities/from_nodes.yaml': [{ rejected: 'apiVersion is missing: the document has "apiversion"', pointer: '/apiversion' }],
  'l3/entities/from_world_deny.yaml': [{ imported: 'external-lockdown' }],
  'l3/entities/host.yaml': [{ imported: 'default.dev-to-host' }],
  'l3/entities/nodes.yaml': [{ imported: 'default.to-dev-from-nodes-in-cluster' }],
  'l3/entities/world.yaml': [{ imported: 'default.from-world-to-role-public' }],
  'l3/fqdn/fqdn-cascade.yaml': [{ imported: 'default.to-fqdn-cascade' }],
  'l3/fqdn/fqdn-short.yaml': [{ imported: 'default.to-fqdn-short' }],
  'l3/fqdn/fqdn.yaml': [{ imported: 'default.to-fqdn' }],
  'l3/host/host-policy.yaml': [{ imported: 'allow-google-dns-on-udp-53-only', note: "ignored /description" }],
  'l3/ingress-allow-all/ingress-allow-all.yaml': [{ imported: 'default.allow-all-to-victim' }],
  // Operator "in" (lower case): Cilium's CRD enum is In/NotIn/Exists/DoesNotExist, so the API server rejects it too.
  'l3/match-expressions/and-statement.yaml': [{ rejected: 'must be one of ["In","NotIn","Exists","DoesNotExist"]', pointer: '/spec/ingress/0/fromEndpoints/0/matchExpressions/0/operator' }],
  'l3/match-expressions/or-statement.yaml': [{ rejected: 'must be one of ["In","NotIn","Exists","DoesNotExist"]', pointer: '/spec/ingress/0/fromEndpoints/0/matchExpressions/0/operator' }],
  'l3/requires/endpoints.yaml': [{ imported: 'default.l3-rule' }],
  'l3/requires/requires.yaml': [{ imported: 'default.requires-rule' }],
  'l3/service/service-labels.yaml': [{ imported: 'default.service-labels-rule' }],
  'l3/service/service.yaml': [{ imported: 'default.service-rule' }],
  'l3/simple/l3.yaml': [{ imported: 'default.l3-rule' }],
  'l3/simple/l3_egress.yaml': [{ imported: 'default.l3-egress-rule' }],
  'l4/cidr_l4_combined.yaml': [{ imported: 'default.cidr-l4-rule' }],
  'l4/envoy_forward_proxy.yaml': [{ imported: 'default.egress-via-forward-proxy' }],
  'l4/envoy_forward_proxy_cec.yaml': [NOT_A_POLICY('CiliumClusterwideEnvoyConfig')],
  'l4/envoy_listener_redirect.yaml': [{ imported: 'default.redirect-http-to-envoy' }],
  'l4/envoy_listener_redirect_cec.yaml': [NOT_A_POLICY('CiliumClusterwideEnvoyConfig')],
  'l4/from_init.yaml': [{ imported: 'default.from-init' }],
  'l4/icmp.yaml': [{ imported: 'default.icmp-rule' }],
  'l4/init.yaml': [{ imported: 'init' }],
  'l4/l3_l4_combined.yaml': [{ imported: 'default.l4-rule' }],
  'l4/l4.yaml': [{ imported: 'default.l4-rule' }],
  'l4/l4_port_range.yaml': [{ imported: 'default.l4-port-range-rule' }],
  'l4/l4_sni.yaml': [{ imported: 'default.l4-sni-rule' }],
  'l4/multi_rule.yaml': [{ imported: 'default.l4-rules' }],
  'l4/wildcard_port_listener.yaml': [{ imported: 'default.redirect-internet-to-forward-proxy' }],
  'l7.yaml': [{ imported: 'default.rule1', note: "ignored /description" }],
  'l7/dns/dns-upgrade.yaml': [{ imported: 'default.tofqdn-dns-visibility' }],
  'l7/dns/dns-visibility.yaml': [{ imported: 'default.tofqdn-dns-visibility' }],
  'l7/dns/dns.yaml': [{ imported: 'default.tofqdn-dns-visibility' }],
  'l7/http/http.yaml': [{ imported: 'default.l7-rule' }],
  'l7/http/l7_multi.yaml': [{ imported: 'default.fancyrule' }],
  'l7/http/simple/l7.yaml': [{ imported: 'default.rule1' }],
  'l7/kafka/kafka-Role.yaml': [{ imported: 'default.rule1', note: "ignored /description" }],
  'l7/kafka/kafka-role.yaml': [{ imported: 'default.rule1' }],
  'l7/kafka/kafka.yaml': [{ imported: 'default.rule1' }],
  // Mis-indented YAML: `role: frontend` is a sibling of `matchLabels:` (null), not a label. Kubernetes would prune it and leave
  // `{}` — allow-all from every endpoint — so fleetnet rejects instead (l4/multi_rule.yaml is the corrected upstream file).
  'multi_rule.yaml': [{ rejected: 'unknown field', pointer: '/spec/ingress/0/fromEndpoints/0/role' }],
  'requires.yaml': [{ imported: 'default.requires-rule' }],
  'service-empty.yaml': [{ imported: 'default.service-rule' }],
  'service.yaml': [{ imported: 'default.requires-rule' }],
};

function listFixtures(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return listFixtures(path);
    return entry.endsWith('.yaml') ? [relative(FIXTURES, path)] : [];
  });
}

upstream.announceSkip('upstream Cilium example policies (core/policy/import/cilium-fixtures.test.ts)');

describe.skipIf(!upstream.present)(upstream.titled('upstream Cilium example policies'), () => {
  const files = existsSync(FIXTURES) ? listFixtures(FIXTURES).sort() : [];

  it('finds the fixtures beside the repo', () => {
    expect(existsSync(FIXTURES), `missing ${FIXTURES}`).toBe(true);
  });

  it('has an expectation for every fixture and a fixture for every expectation', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('%s', (file) => {
    const outcomes = importPolicyDocuments(readFileSync(join(FIXTURES, file), 'utf8'), 'yaml');
    const policies = collectImportedPolicies(outcomes);
    const got: Want[] = outcomes.map((o) => {
      if (o.outcome === 'imported') {
        const want = EXPECTED[file]?.[o.document];
        const note = want && 'note' in want && want.note !== undefined && o.reason?.includes(want.note) ? want.note : o.reason;
        return note === undefined ? { imported: o.policy?.metadata.name ?? '' } : { imported: o.policy?.metadata.name ?? '', note };
      }
      const want = EXPECTED[file]?.[o.document];
      const reason = want && 'rejected' in want && o.reason?.includes(want.rejected) ? want.rejected : (o.reason ?? '');
      const pointer = o.errors?.[0]?.pointer;
      return pointer === undefined ? { rejected: reason } : { rejected: reason, pointer };
    });
    expect(got).toEqual(EXPECTED[file]);
    // Imported policies pass exactly the validation a PUT runs.
    const validateSchema = createSchemaValidator('NetworkPolicy');
    for (const policy of policies) {
      expect(validateSchema(policy)).toEqual([]);
      expect(validatePolicySpec(policy.spec)).toEqual([]);
    }
  });

  it('summary: how many documents import and how many are rejected', () => {
    let imported = 0;
    let rejected = 0;
    for (const wants of Object.values(EXPECTED)) {
      for (const want of wants) {
        if ('imported' in want) imported++;
        else rejected++;
      }
    }
    // 72 policies import; 22 documents are rejected: 15 are not policies (Namespace ×2, Deployment ×2,
    // Service ×2, Pod ×4, ServiceAccount ×3, CiliumClusterwideEnvoyConfig ×2) and 7 are invalid (annotated above).
    expect({ files: files.length, imported, rejected }).toEqual({ files: 82, imported: 72, rejected: 22 });
  });
});
