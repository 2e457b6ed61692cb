/** The Entra app roles fleetnet knows (app registration `appRoles[].value`). */
export const FLEET_ROLES = ['Fleet.Admin', 'Fleet.Reader', 'Fleet.Agent'] as const;

export type FleetRole = (typeof FLEET_ROLES)[number];

export const isFleetRole = (value: unknown): value is FleetRole =>
  typeof value === 'string' && (FLEET_ROLES as readonly string[]).includes(value);

/**
 * The caller behind a verified bearer token. Built only by the verifier; everything below the HTTP
 * edge trusts it.
 */
export interface Principal {
  /** `sub` claim: pairwise per application in Entra, so stable but not a directory id. */
  subject: string;
  /** `oid` claim: the user's or service principal's (incl. managed identity's) object id. */
  objectId?: string;
  /** `azp` (v2 tokens) or `appid` (v1 tokens) claim: client id of the app that obtained the token. */
  appId?: string;
  /** `roles` claim filtered to the Fleet roles, de-duplicated, in FLEET_ROLES order. */
  roles: FleetRole[];
  /** `name` claim when present (users); for display only, never for decisions. */
  displayName?: string;
}
