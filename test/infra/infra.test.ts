/**
 * infra/ without a Bicep or Terraform binary: the generated container file must be fresh, the Bicep must
 * carry the structural facts the product relies on (Entra-only Cosmos DB, data-plane role, identity-based
 * storage, every env var the code reads), and the Terraform example's bodies must be what the API accepts,
 * idempotently (same body → 200, same generation), at the paths the restapi provider will use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ENV } from '../../functions/src/app-services.js';
import { AUTH_ENV } from '../../functions/src/auth/auth-config.js';
import { CONSOLE_ENV } from '../../functions/src/handlers/console-config.js';
import { CONTAINERS, DATABASE_ID } from '../../functions/src/store/cosmos-layout.js';
import { buildCosmosContainers, COSMOS_CONTAINERS_PATH, renderCosmosContainers } from '../../scripts/generate-infra.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const read = (path: string) => readFileSync(repo(path), 'utf8');

const azureDir = repo('infra/azure');
const bicepFiles = listFiles(azureDir, '.bicep');
const mainBicep = read('infra/azure/main.bicep');
const allBicep = bicepFiles.map((file) => readFileSync(file, 'utf8')).join('\n');
const terraform = read('infra/terraform/example/main.tf');

describe('infra/azure/cosmos-containers.json', () => {
  it('is what `npm run generate:infra` makes of cosmos-layout.ts now', () => {
    const current = readFileSync(COSMOS_CONTAINERS_PATH, 'utf8');
    expect(current, 'stale: run `npm run generate:infra` and commit the result').toBe(renderCosmosContainers());
  });

  it('holds every container of the layout with its partition key and indexing policy', () => {
    const file = JSON.parse(readFileSync(COSMOS_CONTAINERS_PATH, 'utf8')) as ReturnType<typeof buildCosmosContainers>;
    expect(file.databaseId).toBe(DATABASE_ID);
    const layout = Object.values(CONTAINERS) as { id: string; partitionKey: { paths: readonly string[] }; indexingPolicy?: unknown; defaultTtl?: number }[];
    expect(file.containers.map((c) => c.id)).toEqual(layout.map((c) => c.id));
    for (const definition of layout) {
      const container = file.containers.find((c) => c.id === definition.id)!;
      expect(container.partitionKey.paths).toEqual(definition.partitionKey.paths);
      expect(container.partitionKey.kind).toBe(definition.partitionKey.paths.length > 1 ? 'MultiHash' : 'Hash');
      expect(container.partitionKey.version).toBe(2);
      expect(container.indexingPolicy).toEqual(definition.indexingPolicy);
      expect(container.defaultTtl).toEqual(definition.defaultTtl);
    }
  });

  it('maps hierarchical keys and TTL, and refuses layout fields it cannot map', () => {
    const flows = { id: 'flows', partitionKey: { paths: ['/clusterId', '/bucket'] }, defaultTtl: 2_592_000 };
    expect(buildCosmosContainers({ flows }, 'x').containers[0]).toEqual({
      id: 'flows',
      partitionKey: { paths: ['/clusterId', '/bucket'], kind: 'MultiHash', version: 2 },
      defaultTtl: 2_592_000,
    });
    expect(() => buildCosmosContainers({ odd: { id: 'odd', partitionKey: { paths: ['/a'] }, throughput: 400 } })).toThrow(/throughput/);
  });
});

describe('infra/azure/main.bicep', () => {
  it('loops the containers from the generated file instead of copying the layout', () => {
    expect(mainBicep).toMatch(/loadJsonContent\('cosmos-containers\.json'\)/);
    expect(mainBicep).toMatch(/for \w+ in cosmosLayout\.containers/);
    for (const { id } of Object.values(CONTAINERS)) {
      expect(allBicep, `container "${id}" hand-copied into Bicep`).not.toMatch(new RegExp(`'${id}'`));
    }
    expect(allBicep).not.toMatch(/partitionKey:\s*\{\s*paths/);
  });

  it('makes the Cosmos DB account Entra-only with Session consistency and parameterized public access', () => {
    const account = resourceBlock(mainBicep, "'Microsoft.DocumentDB/databaseAccounts@");
    expect(account).toMatch(/disableLocalAuth:\s*true/);
    expect(account).toMatch(/defaultConsistencyLevel:\s*'Session'/);
    expect(account).toMatch(/publicNetworkAccess:\s*[a-zA-Z]\w*\s*$/m); // a parameter, not a literal
  });

  it('grants the app identity the built-in Cosmos DB Data Contributor role on the account', () => {
    const assignment = resourceBlock(mainBicep, "'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@");
    expect(mainBicep).toMatch(/cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002'/);
    expect(assignment).toMatch(/roleDefinitionId:\s*'\$\{cosmosAccount\.id\}\/sqlRoleDefinitions\/\$\{cosmosDataContributorRoleId\}'/);
    expect(assignment).toMatch(/principalId:\s*functionApp\.identity\.principalId/);
    expect(assignment).toMatch(/scope:\s*cosmosAccount\.id/);
  });

  it('uses identity-based storage for the host and the Flex Consumption deployment package', () => {
    expect(resourceBlock(mainBicep, "'Microsoft.Storage/storageAccounts@")).toMatch(/allowSharedKeyAccess:\s*false/);
    const app = resourceBlock(mainBicep, "'Microsoft.Web/sites@");
    expect(app).toMatch(/kind:\s*'functionapp,linux'/);
    expect(app).toMatch(/type:\s*'SystemAssigned'/);
    expect(app).toMatch(/authentication:\s*\{\s*type:\s*'SystemAssignedIdentity'/);
    expect(app).toMatch(/runtime:\s*\{\s*name:\s*'node'/);
    expect(resourceBlock(mainBicep, "'Microsoft.Web/serverfarms@")).toMatch(/name:\s*'FC1'/);
    // Storage Blob Data Owner for the app on the storage account.
    expect(mainBicep).toMatch(/storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'/);
    expect(resourceBlock(mainBicep, 'storageBlobDataOwner ')).toMatch(/scope:\s*storageAccount\b/);
  });

  it('defaults the Node runtime to the major version package.json declares', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const major = /(\d+)/.exec(engines)?.[1];
    expect(mainBicep).toMatch(new RegExp(`param nodeVersion string = '${major}'`));
  });

  it('sets every environment variable the code reads, and none Flex Consumption refuses', () => {
    const names = appSettingNames(mainBicep);
    const required = ['AzureWebJobsStorage__accountName', ...Object.values(APP_ENV), AUTH_ENV.issuer, AUTH_ENV.audience, AUTH_ENV.jwksUri, CONSOLE_ENV.clientId];
    for (const name of required) expect(names, name).toContain(name);
    for (const name of [AUTH_ENV.devIssuerDir, 'AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING']) {
      expect(names, name).not.toContain(name);
    }
    // COSMOS_DATABASE is the database the template creates.
    expect(mainBicep).toMatch(/name: 'COSMOS_DATABASE'\s*value: cosmosLayout\.databaseId/);
  });

  it('contains no keys, connection strings or secrets', () => {
    const forbidden = [/listKeys\s*\(/i, /listConnectionStrings\s*\(/i, /list\w*Sas\s*\(/i, /AccountKey=/i, /DefaultEndpointsProtocol=/i, /SharedAccessSignature/i, /MasterKey/i, /@secure\(\)/, /AzureWebJobsStorage'\s*$/m];
    for (const file of bicepFiles) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of forbidden) expect(text, `${file}: ${pattern}`).not.toMatch(pattern);
    }
    // The only connection string is Application Insights', harmless once its local auth is off.
    expect(appSettingNames(mainBicep).filter((n) => /CONNECTION_?STRING/i.test(n))).toEqual(['APPLICATIONINSIGHTS_CONNECTION_STRING']);
    expect(resourceBlock(mainBicep, "'Microsoft.Insights/components@")).toMatch(/DisableLocalAuth:\s*true/);
  });

  it('describes every parameter and outputs the API base URL and the identity', () => {
    const lines = allBicep.split('\n');
    lines.forEach((line, index) => {
      if (!line.startsWith('param ')) return;
      const decorators: string[] = [];
      for (let i = index - 1; i >= 0 && lines[i]!.startsWith('@'); i--) decorators.push(lines[i]!);
      expect(decorators.some((d) => d.startsWith('@description(')), line).toBe(true);
    });
    const routePrefix = (JSON.parse(read('host.json')) as { extensions: { http: { routePrefix: string } } }).extensions.http.routePrefix;
    expect(mainBicep).toMatch(new RegExp(`output apiBaseUrl string = 'https://\\$\\{functionApp\\.properties\\.defaultHostName\\}/${routePrefix}'`));
    expect(mainBicep).toMatch(/output principalId string = functionApp\.identity\.principalId/);
  });
});

describe('infra/azure: fleet inventory and encryption remediation RBAC', () => {
  const inventoryModule = read('infra/azure/modules/inventory-reader.bicep');
  const remediationModule = read('infra/azure/modules/encryption-remediator.bicep');
  const destructive = /\/(write|delete)$|\/action$|\*/i;

  it('wires every inventory and remediation app setting from a parameter with a safe default', () => {
    const wiring: Record<string, string> = {
      [APP_ENV.armSubscriptions]: 'inventorySubscriptionIds',
      [APP_ENV.armEndpoint]: 'armEndpoint',
      [APP_ENV.inventoryDiscover]: 'inventoryDiscover',
      [APP_ENV.encryptionRemediation]: 'enableEncryptionRemediation',
    };
    for (const [setting, param] of Object.entries(wiring)) {
      const value = new RegExp(`name: '${setting}'\\s*value: (.+)$`, 'm').exec(mainBicep)?.[1];
      expect(value, setting).toBeDefined();
      expect(expandVars(mainBicep, value!), `${setting} is not computed from param ${param}`).toMatch(new RegExp(`\\b${param}\\b`));
    }
    expect(mainBicep).toMatch(/^param inventorySubscriptionIds array = \[\]$/m);
    expect(mainBicep).toMatch(/^param inventoryDiscover bool = false$/m);
    expect(mainBicep).toMatch(/^param armEndpoint string = environment\(\)\.resourceManager$/m);
    expect(mainBicep).toMatch(/^param enableEncryptionRemediation bool = false$/m);
    expect(mainBicep).toMatch(/^param remediationSubscriptionIds array = \[\]$/m);
    // The values the app parses: 'true'/'false' and 'enabled'/'disabled', never Bicep's string(bool) ('True').
    expect(mainBicep).toMatch(/inventoryDiscover \? 'true' : 'false'/);
    const remediation = /name: 'FLEETNET_ENCRYPTION_REMEDIATION'\s*value: (.+)$/m.exec(mainBicep)![1]!;
    expect(remediation).toMatch(/^enableEncryptionRemediation \?[\s\S]*'enabled'[\s\S]*: 'disabled'$/);
    // Remediation subscriptions outside the inventory's (or none at all) fail the deployment.
    expect(remediation).toMatch(/fail\(/);
    expect(mainBicep).toMatch(/remediationSubscriptionsOutsideInventory = filter\(remediationSubscriptions, \w+ => !contains\(inventorySubscriptions, \w+\)\)/);
  });

  it('grants the inventory a custom role that only reads managed clusters, at the scope of each listed subscription', () => {
    expect(inventoryModule).toMatch(/^targetScope = 'subscription'$/m);
    const actions = roleActions(inventoryModule);
    expect(actions).toEqual(['Microsoft.ContainerService/managedClusters/read']);
    for (const action of actions) expect(action, action).not.toMatch(destructive);
    expectCustomRoleAssignedToApp(inventoryModule, 'inventoryReaderRole');
    const module = resourceBlock(mainBicep, "module inventoryAccess 'modules/inventory-reader.bicep'");
    expect(mainBicep).toMatch(/module inventoryAccess 'modules\/inventory-reader\.bicep' = \[\s*for \w+ in inventorySubscriptions: \{/);
    expect(module).toMatch(/scope: subscription\(\w+\)/);
    expect(module).toMatch(/principalId: functionApp\.identity\.principalId/);
    // No broad built-in role for the inventory: not Reader, Contributor or AKS Contributor.
    for (const roleId of ['acdd72a7-3385-48ef-bd42-f606fba81ae7', 'b24988ac-6180-42a0-ab88-20f7382dd24c', 'ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8']) {
      expect(allBicep, roleId).not.toMatch(new RegExp(`'${roleId}'`));
    }
  });

  it('grants remediation write (never delete) on managed clusters only under enableEncryptionRemediation', () => {
    expect(remediationModule).toMatch(/^targetScope = 'subscription'$/m);
    const actions = roleActions(remediationModule);
    expect(actions).toContain('Microsoft.ContainerService/managedClusters/write');
    expect(actions).toContain('Microsoft.ContainerService/managedClusters/read');
    expect(actions).toContain('Microsoft.ContainerService/locations/operations/read');
    for (const action of actions) {
      expect(action, action).toMatch(/^Microsoft\.ContainerService\//);
      expect(action, action).not.toMatch(/\*|\/delete$|\/action$/i);
      if (action.endsWith('/write')) expect(action).toBe('Microsoft.ContainerService/managedClusters/write');
    }
    expectCustomRoleAssignedToApp(remediationModule, 'encryptionRemediatorRole');
    // main.bicep references the remediation module once: in the loop gated by enableEncryptionRemediation.
    expect(mainBicep.match(/modules\/encryption-remediator\.bicep/g)).toHaveLength(1);
    const module = resourceBlock(mainBicep, "module remediationAccess 'modules/encryption-remediator.bicep'");
    expect(mainBicep).toMatch(/module remediationAccess 'modules\/encryption-remediator\.bicep' = \[\s*for \w+ in remediationSubscriptions: if \(enableEncryptionRemediation\) \{/);
    expect(module).toMatch(/scope: subscription\(\w+\)/);
    expect(module).toMatch(/principalId: functionApp\.identity\.principalId/);
    // No other Bicep file defines a role with write access to managed clusters.
    for (const file of bicepFiles) {
      const text = readFileSync(file, 'utf8');
      if (text === remediationModule) continue;
      expect(text, file).not.toMatch(/ContainerService\/managedClusters\/(write|delete|\*)/);
    }
  });
});

describe('infra/terraform/example/main.tf', () => {
  const resources = restapiObjects(terraform);
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('configures the provider for PUT create-or-replace keyed by metadata.name, with no literal token', () => {
    const provider = resourceBlock(terraform, 'provider "restapi"');
    expect(provider).toMatch(/id_attribute\s*=\s*"metadata\/name"/);
    expect(provider).toMatch(/create_method\s*=\s*"PUT"/);
    expect(provider).toMatch(/update_method\s*=\s*"PUT"/);
    expect(provider).toMatch(/write_returns_object\s*=\s*true/);
    expect(terraform).not.toMatch(/If-Match/i);
    expect(terraform).not.toMatch(/eyJ[\w-]{10,}/); // no JWT pasted in
    expect(terraform).not.toMatch(/oauth_client_secret\s*=\s*"/);
    expect(resources.map((r) => r.createPath)).toEqual(expect.arrayContaining(['/networkpolicies/{id}', '/encryptionsettings']));
  });

  it('sends bodies the API accepts, idempotently: same body → 200, same generation and ETag', async () => {
    for (const resource of resources) {
      const id = resource.data.metadata.name;
      const url = `${api.baseUrl}${resource.createPath.replace('{id}', id)}`;
      const put = () =>
        fetch(url, {
          method: 'PUT',
          headers: { authorization: `Bearer ${api.tokens.admin}`, 'content-type': 'application/json' },
          body: JSON.stringify(resource.data),
        });
      const first = await put();
      expect(first.status, `${resource.name}: ${await first.clone().text()}`).toBe(201);
      const created = (await first.json()) as { metadata: { generation: number } };
      const second = await put();
      expect(second.status).toBe(200);
      const replayed = (await second.json()) as { metadata: { generation: number } };
      expect(replayed.metadata.generation).toBe(created.metadata.generation);
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));

      // What the provider's read sees: every field it sent comes back unchanged (no perpetual diff).
      const readPath = (resource.readPath ?? `${resource.path}/{id}`).replace('{id}', id);
      const got = await fetch(`${api.baseUrl}${readPath}`, { headers: { authorization: `Bearer ${api.tokens.reader}` } });
      expect(got.status).toBe(200);
      expect(await got.json()).toMatchObject(resource.data);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

function listFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));
}

/** The `{ … }` body that follows the first occurrence of `marker` (brace-matched; strings are not special). */
function resourceBlock(text: string, marker: string): string {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`not found: ${marker}`);
  const open = text.indexOf('{', at);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced block after ${marker}`);
}

/** String literals of `actions: [ … ]` in the role definition of a Bicep file (inline or through a `var`). */
function roleActions(bicep: string): string[] {
  const role = resourceBlock(bicep, "'Microsoft.Authorization/roleDefinitions@");
  for (const empty of ['notActions', 'dataActions', 'notDataActions']) expect(role).toMatch(new RegExp(`\\b${empty}: \\[\\]`));
  const inline = /\bactions: (\[[\s\S]*?\]|\w+)/.exec(role)?.[1];
  if (!inline) throw new Error('no actions in role definition');
  const list = inline.startsWith('[') ? inline : new RegExp(`^var ${inline} = (\\[[\\s\\S]*?^\\])`, 'm').exec(bicep)?.[1];
  if (!list) throw new Error(`actions variable ${inline} not found`);
  return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

/** A custom role assignable in its own subscription, assigned to the app's identity as a service principal, deterministic name. */
function expectCustomRoleAssignedToApp(bicep: string, roleSymbol: string): void {
  const role = resourceBlock(bicep, `resource ${roleSymbol} 'Microsoft.Authorization/roleDefinitions@`);
  expect(role).toMatch(/type: 'CustomRole'/);
  expect(role).toMatch(/assignableScopes: \[\s*subscription\(\)\.id\s*\]/);
  // Custom role display names are unique per tenant: one per app and subscription.
  expect(role).toMatch(/roleName: '[^']*\$\{functionAppName\}[^']*\$\{subscription\(\)\.subscriptionId\}[^']*'/);
  const assignment = resourceBlock(bicep, "'Microsoft.Authorization/roleAssignments@");
  expect(assignment).toMatch(new RegExp(`name: guid\\(subscription\\(\\)\\.subscriptionId, principalId, ${roleSymbol}\\.id\\)`));
  expect(assignment).toMatch(new RegExp(`roleDefinitionId: ${roleSymbol}\\.id`));
  expect(assignment).toMatch(/principalId: principalId/);
  expect(assignment).toMatch(/principalType: 'ServicePrincipal'/);
  expect(assignment).not.toMatch(/\bscope:/); // the module's subscription
  expect(bicep.match(/'Microsoft\.Authorization\/roleAssignments@/g)).toHaveLength(1);
}

/** `expression` with the variables it names replaced by their definitions, recursively (enough to see which params feed it). */
function expandVars(bicep: string, expression: string, depth = 4): string {
  if (depth === 0) return expression;
  return expression.replace(/\b[a-zA-Z]\w*\b/g, (word) => {
    const definition = new RegExp(`^var ${word} = (.+)$`, 'm').exec(bicep)?.[1];
    return definition === undefined ? word : `(${expandVars(bicep, definition, depth - 1)})`;
  });
}

/** Names in the app settings arrays of main.bicep (`name: '…'` entries of the *AppSettings variables). */
function appSettingNames(bicep: string): string[] {
  const names: string[] = [];
  for (const match of bicep.matchAll(/^var \w*AppSettings = [\s\S]*?^\S/gm)) {
    for (const entry of match[0].matchAll(/name: '([A-Za-z0-9_]+)'/g)) names.push(entry[1]!);
  }
  return names;
}

interface RestapiObject {
  name: string;
  path: string;
  createPath: string;
  readPath?: string;
  data: { metadata: { name: string } } & Record<string, unknown>;
}

function restapiObjects(tf: string): RestapiObject[] {
  return [...tf.matchAll(/resource "restapi_object" "(\w+)"/g)].map((match) => {
    const block = resourceBlock(tf.slice(match.index), match[0]);
    const attr = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, 'm').exec(block)?.[1];
    const path = attr('path')!;
    const encoded = block.indexOf('jsonencode(');
    if (encoded < 0) throw new Error(`${match[1]}: data is not jsonencode(...)`);
    const data = parseHclValue(block, encoded + 'jsonencode('.length).value as RestapiObject['data'];
    return { name: match[1]!, path, createPath: attr('create_path') ?? path, readPath: attr('read_path'), data };
  });
}

/**
 * The literal subset of HCL used inside jsonencode(...) in the example: objects `{ k = v }`, tuples `[a, b]`,
 * strings without interpolation, numbers, booleans, null, `#` comments. Enough to send the example's bodies.
 */
function parseHclValue(text: string, start: number): { value: unknown; end: number } {
  let i = start;
  const skip = () => {
    for (;;) {
      while (i < text.length && /[\s,]/.test(text[i]!)) i++;
      if (text[i] === '#' || text.startsWith('//', i)) while (i < text.length && text[i] !== '\n') i++;
      else return;
    }
  };
  const value = (): unknown => {
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const object: Record<string, unknown> = {};
      for (skip(); text[i] !== '}'; skip()) {
        const key = /^(?:"([^"]+)"|([A-Za-z_][\w-]*))\s*=/.exec(text.slice(i));
        if (!key) throw new Error(`HCL key expected at ${text.slice(i, i + 40)}`);
        i += key[0].length;
        object[key[1] ?? key[2]!] = value();
      }
      i++;
      return object;
    }
    if (c === '[') {
      i++;
      const items: unknown[] = [];
      for (skip(); text[i] !== ']'; skip()) items.push(value());
      i++;
      return items;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const raw = text.slice(i + 1, end);
      if (raw.includes('${') || raw.includes('\\')) throw new Error(`unsupported string ${raw}`);
      i = end + 1;
      return raw;
    }
    const atom = /^(true|false|null|-?\d+(?:\.\d+)?)/.exec(text.slice(i));
    if (!atom) throw new Error(`HCL value expected at ${text.slice(i, i + 40)}`);
    i += atom[0].length;
    return JSON.parse(atom[0]) as unknown;
  };
  const result = value();
  return { value: result, end: i };
}
