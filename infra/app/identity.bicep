param name string
param location string = resourceGroup().location
param tags object = {}

// The app's one identity: storage (deployment package, queue, tables), Application
// Insights and Key Vault all trust it through role assignments, never through keys.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
