// fleetnet control plane on Azure: Cosmos DB (Entra-only data plane), Azure Functions Flex Consumption (FC1)
// with a system-assigned identity, identity-based host/deployment storage, optional Application Insights.
// Deploy at resource-group scope; see README.md next to this file. No keys, connection strings or secrets are
// created, read or passed anywhere in this template: every data-plane call is Entra ID + RBAC.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------

@description('Azure region for every resource. The region must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Short name used to derive resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'fleetnet'

@description('Suffix that makes the global names unique; the default is stable per resource group.')
param nameSuffix string = uniqueString(resourceGroup().id)

@description('Tags applied to every resource.')
param tags object = {}

@description('Cosmos DB capacity mode. autoscale: shared database throughput that scales between 10% and 100% of cosmosAutoscaleMaxThroughput. serverless: pay per request, single region, for dev/test fleets.')
@allowed(['autoscale', 'serverless'])
param cosmosCapacityMode string = 'autoscale'

@description('Autoscale maximum RU/s shared by all containers of the database (autoscale mode only; 1000 is the smallest database-level maximum).')
@minValue(1000)
param cosmosAutoscaleMaxThroughput int = 1000

@description('Cosmos DB public network access. Disabled requires a private endpoint and Flex Consumption VNet integration, which this template does not create.')
@allowed(['Enabled', 'Disabled'])
param cosmosPublicNetworkAccess string = 'Enabled'

@description('Zone redundancy for the Cosmos DB region.')
param cosmosZoneRedundant bool = false

@description('Extra Entra principals (object ids, e.g. an operator group or a CI identity) that get Cosmos DB Built-in Data Contributor on the account.')
param cosmosDataContributorPrincipalIds array = []

@description('Token issuer the API accepts (FLEETNET_AUTH_ISSUER). The default is the Entra v2 issuer of the deployment tenant; the app registration must issue v2 access tokens (api.requestedAccessTokenVersion = 2).')
param authIssuer string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

@description('Accepted token audiences (FLEETNET_AUTH_AUDIENCE), comma-separated: the API app registration\'s Application ID URI and/or client id.')
@minLength(1)
param authAudience string

@description('JWKS URI (FLEETNET_AUTH_JWKS_URI). Leave empty for an Entra v2 issuer: the API derives it from the tenant.')
param authJwksUri string = ''

@description('Milliseconds a cluster\'s desired state may be served from an instance\'s memory (FLEETNET_DESIRED_STATE_CACHE_MS).')
param desiredStateCacheMillis int = 1000

@description('Milliseconds a verified bearer token is trusted without re-verification (FLEETNET_TOKEN_CACHE_MS).')
param tokenCacheMillis int = 60000

@description('Days flow history is kept (FLEETNET_FLOW_RETENTION_DAYS; the ttl the API puts on flow documents).')
@minValue(1)
param flowRetentionDays int = 30

@description('Threads per instance that decode agent flow batches and Hubble imports and fold flow scans for aggregations and the service graph (FLEETNET_FLOW_DECODER_THREADS). Match the instance\'s cores; 0 runs all of it on the event loop.')
@minValue(0)
param flowDecoderThreads int = 2

@description('Node.js major version of the Flex Consumption runtime; matches package.json engines.')
@allowed(['20', '22'])
param nodeVersion string = '20'

@description('Upper bound of Flex Consumption instances (scale-out limit, also a cost and Cosmos RU ceiling).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Flex Consumption instance, in MB.')
@allowed([2048, 4096])
param instanceMemoryMB int = 2048

@description('Always-ready instances for the HTTP trigger group (0 = scale to zero; agents polling keep the app warm anyway).')
@minValue(0)
param alwaysReadyHttpInstances int = 0

@description('Browser origins allowed by CORS (internal portals). Empty disables CORS.')
param corsAllowedOrigins array = []

@description('Create a Log Analytics workspace and an Application Insights component (Entra-authenticated ingestion, local auth disabled).')
param enableApplicationInsights bool = true

// Fleet inventory and guarded encryption remediation (README.md, "Fleet inventory and encryption remediation:
// identity and roles"). Nothing below grants anything in Azure Resource Manager unless these parameters name
// subscriptions: the defaults create no role definition and no role assignment outside this resource group.

@description('Subscription ids whose AKS managed clusters the fleet inventory lists (FLEETNET_ARM_SUBSCRIPTIONS). Each gets a custom read-only role (managedClusters/read) assigned to the app\'s identity at subscription scope. Empty (default): nothing is listed and nothing is granted; the inventory only reads the managed clusters that registered clusters name by spec.armResourceId, and those reads need a grant made outside this template.')
param inventorySubscriptionIds array = []

@description('Register managed clusters of the listed subscriptions that no registered cluster names (FLEETNET_INVENTORY_DISCOVER).')
param inventoryDiscover bool = false

@description('Azure Resource Manager endpoint the inventory and remediation call (FLEETNET_ARM_ENDPOINT). The default is the deployment cloud\'s, so sovereign clouds need no change.')
param armEndpoint string = environment().resourceManager

@description('Fleet-wide switch of guarded encryption remediation (FLEETNET_ENCRYPTION_REMEDIATION). true: a custom role that may PUT (not delete) managed clusters is created and assigned in every subscription of remediationSubscriptionIds. false (default): no such role exists anywhere, whatever remediationSubscriptionIds says.')
param enableEncryptionRemediation bool = false

@description('Application (client) id of the console\'s own Entra app registration (a single-page application whose redirect URI is https://<app>.azurewebsites.net/api/console/), FLEETNET_CONSOLE_CLIENT_ID. Empty (default): the console asks users to paste a token.')
param consoleClientId string = ''

@description('Subscriptions where remediation may change managed clusters; only used when enableEncryptionRemediation is true, and then required: non-empty and a subset of inventorySubscriptionIds (the deployment fails otherwise).')
param remediationSubscriptionIds array = []

// ---------------------------------------------------------------------------------------------------------
// Names and shared values
// ---------------------------------------------------------------------------------------------------------

// The ONE container layout, generated from functions/src/store/cosmos-layout.ts by `npm run generate:infra`.
var cosmosLayout = loadJsonContent('cosmos-containers.json')

var cosmosAccountName = toLower('${namePrefix}-cosmos-${nameSuffix}')
var storageAccountName = take(toLower('${namePrefix}st${nameSuffix}'), 24)
var planName = '${namePrefix}-plan-${nameSuffix}'
var functionAppName = '${namePrefix}-api-${nameSuffix}'
var logAnalyticsName = '${namePrefix}-logs-${nameSuffix}'
var appInsightsName = '${namePrefix}-appi-${nameSuffix}'
var deploymentContainerName = 'app-package'

// Built-in role definition ids.
var cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002' // Cosmos DB Built-in Data Contributor (data plane)
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher

// Subscription ids as ARM compares them in guid() names: trimmed, lower case, each once.
var inventorySubscriptions = union(map(inventorySubscriptionIds, id => toLower(trim(string(id)))), [])
var remediationSubscriptions = union(map(remediationSubscriptionIds, id => toLower(trim(string(id)))), [])
var remediationSubscriptionsOutsideInventory = filter(remediationSubscriptions, id => !contains(inventorySubscriptions, id))
// FLEETNET_ARM_ENDPOINT without the trailing slash environment().resourceManager carries (the app's default has none).
var armEndpointNormalized = endsWith(armEndpoint, '/') ? substring(armEndpoint, 0, length(armEndpoint) - 1) : armEndpoint

// ---------------------------------------------------------------------------------------------------------
// Cosmos DB
// ---------------------------------------------------------------------------------------------------------

// Capacity: autoscale is the default because the agents' desired-state poll is a steady baseline, not a burst:
// docs/storage.md puts a 5,000-node fleet at ~500-5,000 RU/s around the clock (5,000 RU/s is also serverless's
// per-container ceiling), and sustained load is cheaper on provisioned RU/s than on per-request billing.
// Shared database throughput keeps the small containers (desiredStates, leases, revisions, nodes) from each paying a
// minimum. Serverless stays available for dev/test fleets that are idle most of the day. Consistency is
// Session: a writer reads its own writes (ETag/If-Match flows), which is all the API relies on.
resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: cosmosAccountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: cosmosZoneRedundant
      }
    ]
    capabilities: cosmosCapacityMode == 'serverless' ? [{ name: 'EnableServerless' }] : []
    // Entra-only data plane: account keys and resource tokens are refused; the app uses DefaultAzureCredential.
    disableLocalAuth: true
    // Control-plane changes (databases, containers, throughput) only through ARM, i.e. this template.
    disableKeyBasedMetadataWriteAccess: true
    publicNetworkAccess: cosmosPublicNetworkAccess
    minimalTlsVersion: 'Tls12'
  }
}

resource cosmosDatabase 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmosAccount
  name: cosmosLayout.databaseId
  properties: {
    resource: {
      id: cosmosLayout.databaseId
    }
    options: cosmosCapacityMode == 'autoscale' ? { autoscaleSettings: { maxThroughput: cosmosAutoscaleMaxThroughput } } : {}
  }
}

// One container per entry of cosmos-containers.json: id, partition key, indexing policy (and defaultTtl when the
// layout sets one) come from the generated file unchanged.
resource cosmosContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [
  for container in cosmosLayout.containers: {
    parent: cosmosDatabase
    name: container.id
    properties: {
      resource: container
    }
  }
]

// The function app's identity: read/write items in every container of the account (data plane only).
resource cosmosAppDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmosAccount
  name: guid(cosmosAccount.id, functionApp.id, cosmosDataContributorRoleId)
  properties: {
    roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
    principalId: functionApp.identity.principalId
    scope: cosmosAccount.id
  }
}

resource cosmosExtraDataContributors 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = [
  for principalId in cosmosDataContributorPrincipalIds: {
    parent: cosmosAccount
    name: guid(cosmosAccount.id, principalId, cosmosDataContributorRoleId)
    properties: {
      roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
      principalId: principalId
      scope: cosmosAccount.id
    }
  }
]

// ---------------------------------------------------------------------------------------------------------
// Storage: Functions host storage (AzureWebJobsStorage: timer leases, host keys) and the deployment package
// ---------------------------------------------------------------------------------------------------------

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    accessTier: 'Hot'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// ---------------------------------------------------------------------------------------------------------
// Monitoring (optional)
// ---------------------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = if (enableApplicationInsights) {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = if (enableApplicationInsights) {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Ingestion needs an Entra token (Monitoring Metrics Publisher below); the instrumentation key in the
    // connection string alone cannot write telemetry.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------------------
// Function app (Flex Consumption)
// ---------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

// Every variable the code reads (functions/src/app-services.ts APP_ENV, functions/src/auth/auth-config.ts
// AUTH_ENV) except FLEETNET_AUTH_DEV_ISSUER_DIR, which is for local runs and refused on Azure.
// Flex Consumption takes runtime and version from functionAppConfig: FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE must not be set.
var baseAppSettings = [
  {
    name: 'AzureWebJobsStorage__accountName' // identity-based host storage (system-assigned identity)
    value: storageAccount.name
  }
  {
    name: 'COSMOS_ENDPOINT'
    value: cosmosAccount.properties.documentEndpoint
  }
  {
    name: 'COSMOS_DATABASE'
    value: cosmosLayout.databaseId
  }
  {
    // Identity-based connection of the Cosmos DB trigger (compileDesiredState: change feed of `resources`,
    // leases in `leases`); the app's identity holds the data-plane role below, which covers both.
    name: 'COSMOS__accountEndpoint'
    value: cosmosAccount.properties.documentEndpoint
  }
  {
    name: 'FLEETNET_AUTH_ISSUER'
    value: authIssuer
  }
  {
    name: 'FLEETNET_AUTH_AUDIENCE'
    value: authAudience
  }
  {
    name: 'FLEETNET_AUTH_JWKS_URI'
    value: authJwksUri
  }
  {
    name: 'FLEETNET_DESIRED_STATE_CACHE_MS'
    value: string(desiredStateCacheMillis)
  }
  {
    name: 'FLEETNET_TOKEN_CACHE_MS'
    value: string(tokenCacheMillis)
  }
  {
    name: 'FLEETNET_FLOW_RETENTION_DAYS'
    value: string(flowRetentionDays)
  }
  {
    name: 'FLEETNET_FLOW_DECODER_THREADS'
    value: string(flowDecoderThreads)
  }
]

// Fleet inventory and guarded remediation (functions/src/app-services.ts APP_ENV). Each value comes from a parameter;
// remediation is `enabled` only when asked for AND granted somewhere: an enabled switch with no subscription, or with
// one the inventory does not list, fails the deployment (fail()) instead of deploying a switch nothing backs.
var fleetInventoryAppSettings = [
  {
    name: 'FLEETNET_ARM_SUBSCRIPTIONS'
    value: join(inventorySubscriptions, ',')
  }
  {
    name: 'FLEETNET_ARM_ENDPOINT'
    value: armEndpointNormalized
  }
  {
    name: 'FLEETNET_INVENTORY_DISCOVER'
    value: inventoryDiscover ? 'true' : 'false'
  }
  {
    name: 'FLEETNET_ENCRYPTION_REMEDIATION'
    value: enableEncryptionRemediation ? (empty(remediationSubscriptions) ? fail('enableEncryptionRemediation=true needs remediationSubscriptionIds (the subscriptions whose managed clusters fleetnet may change).') : (empty(remediationSubscriptionsOutsideInventory) ? 'enabled' : fail('remediationSubscriptionIds must be a subset of inventorySubscriptionIds.'))) : 'disabled'
  }
  {
    name: 'FLEETNET_CONSOLE_CLIENT_ID'
    value: consoleClientId
  }
]

// The Application Insights connection string carries no credential once the component has local auth disabled;
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING makes the host authenticate with its managed identity.
var monitoringAppSettings = enableApplicationInsights
  ? [
      {
        name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
        value: enableApplicationInsights ? appInsights.properties.ConnectionString : ''
      }
      {
        name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
        value: 'Authorization=AAD'
      }
    ]
  : []

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: {
        allowedOrigins: corsAllowedOrigins
      }
      appSettings: concat(baseAppSettings, fleetInventoryAppSettings, monitoringAppSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : []
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// No publishing passwords: deployments authenticate with Entra ID (az / func CLI).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// ---------------------------------------------------------------------------------------------------------
// Azure RBAC for the function app's identity
// ---------------------------------------------------------------------------------------------------------

// Deployment package (blob container) and host storage (blob leases for the timer trigger, host keys).
resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, functionApp.id, storageBlobDataOwnerRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appInsightsMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableApplicationInsights) {
  name: guid(appInsightsName, functionApp.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------------------
// Azure RBAC in other subscriptions: fleet inventory (read) and guarded encryption remediation (write, opt-in)
// ---------------------------------------------------------------------------------------------------------

// A resource-group deployment may deploy modules to any subscription of the tenant (`scope: subscription(id)`);
// the deploying principal needs Microsoft.Authorization/roleDefinitions/write, roleAssignments/write and
// Microsoft.Resources/deployments/write there (README.md). Deployment names carry the app name so two fleetnet
// instances deploying to one subscription do not overwrite each other's deployment records.
module inventoryAccess 'modules/inventory-reader.bicep' = [
  for subscriptionId in inventorySubscriptions: {
    name: take('${functionAppName}-inventory-${uniqueString(subscriptionId)}', 64)
    scope: subscription(subscriptionId)
    params: {
      principalId: functionApp.identity.principalId
      functionAppId: functionApp.id
      functionAppName: functionAppName
    }
  }
]

// Write access to managed clusters exists only when remediation was asked for, and only in the subscriptions named.
module remediationAccess 'modules/encryption-remediator.bicep' = [
  for subscriptionId in remediationSubscriptions: if (enableEncryptionRemediation) {
    name: take('${functionAppName}-remediation-${uniqueString(subscriptionId)}', 64)
    scope: subscription(subscriptionId)
    params: {
      principalId: functionApp.identity.principalId
      functionAppId: functionApp.id
      functionAppName: functionAppName
    }
  }
]

// ---------------------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------------------

@description('Base URL of the API (host.json routePrefix "api").')
output apiBaseUrl string = 'https://${functionApp.properties.defaultHostName}/api'

@description('Function app name (for `func azure functionapp publish` / `az functionapp deployment source config-zip`).')
output functionAppName string = functionApp.name

@description('Object (principal) id of the function app\'s system-assigned identity.')
output principalId string = functionApp.identity.principalId

@description('Cosmos DB account endpoint (the app\'s COSMOS_ENDPOINT).')
output cosmosEndpoint string = cosmosAccount.properties.documentEndpoint

@description('Cosmos DB database id (the app\'s COSMOS_DATABASE).')
output cosmosDatabase string = cosmosLayout.databaseId

@description('Storage account holding the deployment package and the Functions host state.')
output storageAccountName string = storageAccount.name

@description('The inventory role definition id created in each subscription of inventorySubscriptionIds (same order).')
output inventoryRoleDefinitionIds array = [for (subscriptionId, i) in inventorySubscriptions: inventoryAccess[i].outputs.roleDefinitionId]

@description('Subscriptions where the app\'s identity may PUT managed clusters (empty unless enableEncryptionRemediation).')
output remediationGrantedSubscriptionIds array = enableEncryptionRemediation ? remediationSubscriptions : []

