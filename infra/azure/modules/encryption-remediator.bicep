// Guarded encryption remediation: lets the function app's identity PUT managed clusters of ONE subscription and
// poll the ARM long-running operation the PUT starts. Deployed by main.bicep only when enableEncryptionRemediation
// is true, once per entry of remediationSubscriptionIds, with `scope: subscription(id)`. Never deployed otherwise.
// The built-in "Azure Kubernetes Service Contributor Role" (ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8) is NOT used: it
// grants Microsoft.ContainerService/managedClusters/* (delete, listClusterAdminCredential, runCommand, ...) and
// Microsoft.Resources/deployments/*. See README.md, "Fleet inventory and encryption remediation: identity and roles",
// for what AKS additionally checks on a PUT (linked resources) and what an operator adds for their clusters' shape.
targetScope = 'subscription'

@description('Object (principal) id of the function app\'s system-assigned identity.')
param principalId string

@description('Resource id of the function app; makes the role definition id and display name unique per app and subscription.')
param functionAppId string

@description('Function app name, used in the role\'s display name (custom role names are unique per tenant).')
param functionAppName string

// PUT (create-or-update) of an existing managed cluster, read-before-write, and ARM's async operation status:
// Azure-AsyncOperation points at locations/{location}/operations/{id}; the Location header of the same operation
// at locations/{location}/operationresults/{id}. No delete, no credentials, no agent pool or other child writes.
var encryptionRemediatorActions = [
  'Microsoft.ContainerService/managedClusters/read'
  'Microsoft.ContainerService/managedClusters/write'
  'Microsoft.ContainerService/locations/operations/read'
  'Microsoft.ContainerService/locations/operationresults/read'
]

resource encryptionRemediatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, functionAppId, 'fleetnet-encryption-remediator')
  properties: {
    roleName: 'fleetnet encryption remediator (${functionAppName}, ${subscription().subscriptionId})'
    description: 'fleetnet guarded encryption remediation: update (PUT) AKS managed clusters of this subscription and read the operation status. No delete.'
    type: 'CustomRole'
    permissions: [
      {
        actions: encryptionRemediatorActions
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

resource encryptionRemediatorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().subscriptionId, principalId, encryptionRemediatorRole.id)
  properties: {
    roleDefinitionId: encryptionRemediatorRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'fleetnet guarded encryption remediation (${functionAppName})'
  }
}

@description('Id of the remediation role definition in this subscription.')
output roleDefinitionId string = encryptionRemediatorRole.id
