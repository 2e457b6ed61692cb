/**
 * Client-side check of an EncryptionSettings document with the validators a PUT runs on the API (the
 * contract's compiled JSON schema, then validateEncryptionSpec); the API has no validate-only endpoint.
 * Not checked here: `metadata.name` must be `fleet` (the API answers 400 NameMismatch). Loaded lazily.
 */
import type { EncryptionSettings, FieldError } from '../openapi/types.js';
import { validateEncryptionSpec } from '../core/encryption/validate-encryption-spec.js';
import { createSchemaValidator } from '../core/schema/compile-schema-validator.js';

/** Every problem of `value` as EncryptionSettings, pointers relative to the document; [] when valid. */
export function validateEncryptionSettings(value: unknown): FieldError[] {
  const schemaErrors = createSchemaValidator('EncryptionSettings')(value, '');
  if (schemaErrors.length > 0) return schemaErrors;
  return validateEncryptionSpec((value as EncryptionSettings).spec, '/spec');
}
