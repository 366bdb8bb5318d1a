param name string
param location string = resourceGroup().location
param tags object = {}

@secure()
param twilioAuthToken string

@secure()
param twilioApiKeySecret string = ''

@secure()
param numberHashKey string

@secure()
param twilioWebhookKeySecret string = ''

@secure()
param twilioWebhookKeySecret2 string = ''

@secure()
param eventWebhookSecret string = ''

@secure()
param eventCallbackSecret string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource authToken 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'twilio-auth-token'
  properties: {
    value: twilioAuthToken
  }
}

resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(twilioApiKeySecret)) {
  parent: vault
  name: 'twilio-api-key-secret'
  properties: {
    value: twilioApiKeySecret
  }
}

// The HMAC key that stands for phone numbers in the opt-outs and the index: changing it
// orphans those rows (opt-outs stop matching), so it is set once.
resource numberHashKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'number-hash-key'
  properties: {
    value: numberHashKey
  }
}

resource webhookKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(twilioWebhookKeySecret)) {
  parent: vault
  name: 'twilio-webhook-key-secret'
  properties: {
    value: twilioWebhookKeySecret
  }
}

resource webhookKeySecret2 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(twilioWebhookKeySecret2)) {
  parent: vault
  name: 'twilio-webhook-key-secret-2'
  properties: {
    value: twilioWebhookKeySecret2
  }
}

// Standard Webhooks secrets (whsec_...): several separated by spaces during a rotation.
resource eventWebhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(eventWebhookSecret)) {
  parent: vault
  name: 'event-webhook-secret'
  properties: {
    value: eventWebhookSecret
  }
}

resource eventCallbackSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(eventCallbackSecret)) {
  parent: vault
  name: 'event-callback-secret'
  properties: {
    value: eventCallbackSecret
  }
}

output name string = vault.name
output twilioAuthTokenSecretUri string = authToken.properties.secretUri
output numberHashKeySecretUri string = numberHashKeySecret.properties.secretUri
output twilioApiKeySecretUri string = empty(twilioApiKeySecret) ? '' : apiKeySecret.properties.secretUri
output twilioWebhookKeySecretUri string = empty(twilioWebhookKeySecret) ? '' : webhookKeySecret.properties.secretUri
output twilioWebhookKeySecret2Uri string = empty(twilioWebhookKeySecret2) ? '' : webhookKeySecret2.properties.secretUri
output eventWebhookSecretUri string = empty(eventWebhookSecret) ? '' : eventWebhookSecretValue.properties.secretUri
output eventCallbackSecretUri string = empty(eventCallbackSecret) ? '' : eventCallbackSecretValue.properties.secretUri
