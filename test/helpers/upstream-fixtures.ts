/**
 * The upstream (third-party) Cilium example policies some suites import: `../shared/fixtures` beside the
 * repository (CI checks it out there; a clone from GitHub has none). `FLEETNET_UPSTREAM_FIXTURES` names
 * another folder (one holding `cilium-policies/`), e.g. `/nonexistent` to see the suites skip.
 *
 * Where the folder is absent the suites that need it skip, say why in their titles and print one line per
 * file — never a silent pass. Where it is present they run unchanged.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The fixtures folder (absolute): `$FLEETNET_UPSTREAM_FIXTURES`, else `<repo>/../shared/fixtures`. */
export const UPSTREAM_FIXTURES = resolve(REPO_ROOT, process.env.FLEETNET_UPSTREAM_FIXTURES || '../shared/fixtures');

/** The upstream Cilium example policies (YAML, never edited). */
export const CILIUM_POLICIES = resolve(UPSTREAM_FIXTURES, 'cilium-policies');

/** True when the Cilium examples are there to read. */
export const present = existsSync(CILIUM_POLICIES);

/** Why the suites skip (empty when present). */
export const reason = present
  ? ''
  : `upstream Cilium fixtures (../shared/fixtures) not present: ${CILIUM_POLICIES} does not exist` +
    ' (CI checks them out beside the repository; FLEETNET_UPSTREAM_FIXTURES names another folder)';

/** A test or suite title that carries the reason when the fixtures are absent. */
export function titled(title: string): string {
  return present ? title : `${title} [skipped: upstream Cilium fixtures (../shared/fixtures) not present]`;
}

/** Prints one line naming the skipped suite and the reason; does nothing when the fixtures are present. */
export function announceSkip(what: string): void {
  if (!present) console.warn(`SKIPPED ${what}: ${reason}`);
}
