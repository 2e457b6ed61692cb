/**
 * Friendly names for the wire types generated from openapi.yaml (see api-types.generated.ts).
 * Contract: nothing here declares a shape of its own; every type is an alias of a generated one.
 */
import type { components, operations, paths } from './api-types.generated.js';

type Schemas = components['schemas'];

export type { components, operations, paths };
export type Problem = Schemas['Problem'];
export type ProblemCode = Schemas['Problem']['code'];
export type FieldError = Schemas['FieldError'];
export type Labels = Schemas['Labels'];
export type ObjectMeta = Schemas['ObjectMeta'];
export type LabelSelector = Schemas['LabelSelector'];
export type LabelSelectorRequirement = Schemas['LabelSelectorRequirement'];
export type ClusterTargets = Schemas['ClusterTargets'];
export type PolicyMode = Schemas['PolicyMode'];
export type Rule = Schemas['Rule'];
export type IngressRule = Schemas['IngressRule'];
export type IngressDenyRule = Schemas['IngressDenyRule'];
export type EgressRule = Schemas['EgressRule'];
export type EgressDenyRule = Schemas['EgressDenyRule'];
export type PortRule = Schemas['PortRule'];
export type PortProtocol = Schemas['PortProtocol'];
export type CIDRRule = Schemas['CIDRRule'];
export type FQDNSelector = Schemas['FQDNSelector'];
export type NetworkPolicySpec = Schemas['NetworkPolicySpec'];
export type NetworkPolicy = Schemas['NetworkPolicy'];
export type NetworkPolicyList = Schemas['NetworkPolicyList'];
export type ImportOutcome = Schemas['ImportOutcome'];
export type ImportResult = Schemas['ImportResult'];
export type EncryptionConfig = Schemas['EncryptionConfig'];
export type EncryptionOverride = Schemas['EncryptionOverride'];
export type EncryptionSettingsSpec = Schemas['EncryptionSettingsSpec'];
export type EncryptionSettings = Schemas['EncryptionSettings'];
export type EffectiveEncryption = Schemas['EffectiveEncryption'];
export type Cluster = Schemas['Cluster'];
export type ClusterSpec = Schemas['ClusterSpec'];
export type Node = Schemas['Node'];
export type NodeSpec = Schemas['NodeSpec'];
export type NodeStatus = Schemas['NodeStatus'];
export type NodeCondition = Schemas['NodeCondition'];
export type BundledPolicy = Schemas['BundledPolicy'];
export type DesiredState = Schemas['DesiredState'];
export type Revision = Schemas['Revision'];
export type RevisionList = Schemas['RevisionList'];
