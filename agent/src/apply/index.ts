/**
 * Reconciliation of the datapath's maps with a compiled state. See docs/agent.md "Apply ordering".
 *
 *   applyCompiledState(datapath: Datapath, desired: CompiledState, options?: ApplyOptions): ApplyReport
 *
 * Call it after datapath.load() with every new CompiledState (and with { reattach: true } once after
 * a restart's load(), to move pinned links to the freshly loaded programs). Never flushes.
 */
export { applyCompiledState, type ApplyOptions, type ApplyReport } from './apply-compiled-state.js';
export { planPolicyTransition, type PolicyTransition } from './plan-policy-transition.js';
