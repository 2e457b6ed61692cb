// Fleet inventory: read-only access for the function app's identity to the managed clusters of ONE subscription.
// Deployed by main.bicep once per entry of inventorySubscriptionIds, with `scope: subscription(id)`.
// A custom role rather than the built-in Reader (*/read on every resource type of the subscription): the inventory
// lists managed clusters (GET /subscriptions/{id}/providers/Microsoft.ContainerService/managedClusters) and reads
// managed clusters by id, and `Microsoft.ContainerService/managedClusters/read` authorizes both. See README.md,
// "Fleet inventory and encryption remediation: identity and roles".
targetScope = 'subscription'

@description('Object (principal) id of the function app\'s system-assigned identity.')
param principalId string

@description('Resource id of the function app; makes the role definition id and display name unique per app and subscription.')
param functionAppId string

@description('Function app name, used in the role\'s display name (custom role names are unique per tenant).')
param functionAppName string

// Read only: no write, delete or action (listClusterUserCredential, runCommand, ...) of any kind.
var inventoryReaderActions = [
  'Microsoft.ContainerService/managedClusters/read'
]

resource inventoryReaderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, functionAppId, 'fleetnet-inventory-reader')
  properties: {
    roleName: 'fleetnet inventory reader (${functionAppName}, ${subscription().subscriptionId})'
    description: 'fleetnet fleet inventory: list and read AKS managed clusters of this subscription. Nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: inventoryReaderActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource inventoryReaderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().subscriptionId, principalId, inventoryReaderRole.id)
  properties: {
    roleDefinitionId: inventoryReaderRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'fleetnet fleet inventory (${functionAppName})'
  }
}

@description('Id of the inventory role definition in this subscription (assignable at the subscription, its resource groups and clusters).')
output roleDefinitionId string = inventoryReaderRole.id
