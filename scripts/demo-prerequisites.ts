/**
 * What `npm run demo` needs built before it starts: the eBPF object the agent loads and the N-API addon
 * it loads it with. Pure paths and checks; the demo runs the build scripts for whatever is missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildStep {
  /** e.g. "the eBPF object" */
  what: string;
  /** absolute path of the file the step produces */
  output: string;
  /** the npm script that builds it, e.g. "build:bpf" */
  npmScript: string;
  /** the script it runs, relative to the repo root */
  script: string;
}

export function demoBuildSteps(root: string): BuildStep[] {
  return [
    { what: 'the eBPF object', output: join(root, 'agent/bpf/build/fleetnet.bpf.o'), npmScript: 'build:bpf', script: 'scripts/build-bpf.sh' },
    { what: 'the libbpf N-API addon', output: join(root, 'agent/native/build/Release/fleetnet_bpf.node'), npmScript: 'build:native', script: 'scripts/build-native.sh' },
  ];
}

/** The steps whose output is absent (an addon named by FLEETNET_NATIVE_ADDON is the user's to build). */
export function missingBuildSteps(root: string, env: Readonly<Record<string, string | undefined>> = {}): BuildStep[] {
  return demoBuildSteps(root).filter((s) => !existsSync(s.output) && !(s.npmScript === 'build:native' && env['FLEETNET_NATIVE_ADDON']));
}
