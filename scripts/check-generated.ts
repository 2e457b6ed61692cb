/**
 * Fails when openapi/api-types.generated.ts is not what openapi-typescript makes of openapi/openapi.yaml
 * now (someone edited the spec without `npm run generate`, or edited the generated file by hand).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const specUrl = new URL('../openapi/openapi.yaml', import.meta.url);
const generatedPath = fileURLToPath(new URL('../openapi/api-types.generated.ts', import.meta.url));

const fresh = astToString(await openapiTS(specUrl));
const current = readFileSync(generatedPath, 'utf8');
// The CLI writes a fixed comment header before the same output the API returns.
if (!current.endsWith(fresh)) {
  console.error('openapi/api-types.generated.ts is stale: run `npm run generate` and commit the result.');
  process.exit(1);
}
console.log('generated types are fresh');
