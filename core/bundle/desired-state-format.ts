import type { BundledPolicy, DesiredState } from '../../openapi/types.js';

/**
 * The desired-state wire format (openapi getDesiredState). An agent asks for it by media type and checks
 * `apiVersion`; an API answers other Accept values with 406, so releases that disagree fail loudly.
 */
export const DESIRED_STATE_API_VERSION = 'fleetnet.io/v2';
export const DESIRED_STATE_MEDIA_TYPE = 'application/vnd.fleetnet.desiredstate.v2+json';

/**
 * A manifest whose policy references have been replaced by the bodies they name (hashes checked): what
 * the agent persists as last-known-good and compiles. Never on the wire.
 */
export interface ResolvedDesiredState extends Omit<DesiredState, 'policies'> {
  policies: BundledPolicy[];
}
