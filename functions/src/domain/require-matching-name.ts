import { ApiError } from '../http/api-error.js';

/** The name in the URL is the resource's identity; a body naming another resource is a 400 NameMismatch. */
export function requireMatchingName(pathName: string, bodyName: string): void {
  if (pathName !== bodyName) {
    throw new ApiError(400, 'NameMismatch', `metadata.name "${bodyName}" does not match the name in the URL ("${pathName}").`, [
      { pointer: '/metadata/name', message: `must equal "${pathName}"`, rule: 'nameMatchesPath' },
    ]);
  }
}
