targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment, used to generate a short unique hash used in all resources.')
param environmentName string

@minLength(1)
@description('Primary location for all resources and the Flex Consumption function app.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

param apiServiceName string = ''
param apiUserAssignedIdentityName string = ''
param applicationInsightsName string = ''
param appServicePlanName string = ''
param logAnalyticsName string = ''
param resourceGroupName string = ''
param storageAccountName string = ''
param keyVaultName string = ''

@description('Id of the user running azd: may read the Twilio secrets in Key Vault. Leave empty if not needed.')
param principalId string = ''

@description('Twilio Account SID (AC...).')
param twilioAccountSid string

@secure()
@description('Twilio auth token: REST calls (unless an API key is given) and webhook signatures. Stored in Key Vault.')
param twilioAuthToken string

@description('Optional Twilio API key SID (SK...) for REST calls instead of the auth token.')
param twilioApiKeySid string = ''

@secure()
@description('Secret of the Twilio API key. Stored in Key Vault.')
param twilioApiKeySecret string = ''

@secure()
@description('Key of the keyed hash (HMAC) that stands for phone numbers in opt-outs and the index: 32+ random characters, set once. Stored in Key Vault.')
param numberHashKey string

@description('Optional id of a Twilio shared key for webhook signatures (HMAC-SHA256), as Twilio names it in X-Twilio-Webhooks-Signature-Settings.')
param twilioWebhookKeyId string = ''

@secure()
@description('Secret of that shared key. Stored in Key Vault.')
param twilioWebhookKeySecret string = ''

@description('Optional id of a second shared key, so that two are accepted during a rotation.')
param twilioWebhookKeyId2 string = ''

@secure()
@description('Secret of the second shared key. Stored in Key Vault.')
param twilioWebhookKeySecret2 string = ''

@description('Default sender: a Twilio number in E.164, e.g. +15005550006.')
param twilioFromNumber string = ''

@description('Optional Messaging Service SID (MG...) used for SMS without a "from".')
param twilioMessagingServiceSid string = ''

@minValue(1)
@description('Requests your Twilio account takes at once (its concurrency limit). Sets the instances cap and each instance\'s Twilio requests in flight.')
param twilioConcurrency int = 100
@description('Create an Event Grid custom topic (CloudEvents schema) and publish the gateway\'s events to it with the app\'s managed identity (role EventGrid Data Sender).')
param eventGridTopic bool = false

@description('Event types the topic gets: default (final statuses and inbound), all, or names like sms.sent, separated by commas.')
param eventGridTypes string = 'default'

@description('Optional webhook that gets the gateway\'s events (https).')
param eventWebhookUrl string = ''

@secure()
@description('Standard Webhooks secret (whsec_...) the webhook\'s events are signed with; several separated by spaces during a rotation. Stored in Key Vault.')
param eventWebhookSecret string = ''

@description('Event types the webhook gets.')
param eventWebhookTypes string = 'default'

@secure()
@description('Standard Webhooks secret (whsec_...) that signs the events sent to a request\'s callback_url; without it a callback_url is refused. Stored in Key Vault.')
param eventCallbackSecret string = ''

@description('Put Microsoft Entra ID sign-in (App Service Authentication) in front of the operator console.')
param consoleEntraAuth bool = false

@description('Client id of the Entra ID app registration for the console sign-in.')
param consoleEntraClientId string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = empty(apiServiceName) ? '${abbrs.webSitesFunctions}api-${resourceToken}' : apiServiceName
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? '${abbrs.resourcesResourceGroups}${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module apiUserAssignedIdentity 'app/identity.bicep' = {
  name: 'apiUserAssignedIdentity'
  scope: rg
  params: {
    name: empty(apiUserAssignedIdentityName) ? '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}' : apiUserAssignedIdentityName
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: empty(storageAccountName) ? '${abbrs.storageStorageAccounts}${resourceToken}' : storageAccountName
    location: location
    tags: tags
    deploymentStorageContainerName: deploymentStorageContainerName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: empty(logAnalyticsName) ? '${abbrs.operationalInsightsWorkspaces}${resourceToken}' : logAnalyticsName
    applicationInsightsName: empty(applicationInsightsName) ? '${abbrs.insightsComponents}${resourceToken}' : applicationInsightsName
    location: location
    tags: tags
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    name: 'Twilio gateway (${environmentName})'
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module events 'app/eventgrid.bicep' = if (eventGridTopic) {
  name: 'eventGrid'
  scope: rg
  params: {
    name: '${abbrs.eventGridDomainsTopics}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: empty(keyVaultName) ? '${abbrs.keyVaultVaults}${resourceToken}' : keyVaultName
    location: location
    tags: tags
    twilioAuthToken: twilioAuthToken
    twilioApiKeySecret: twilioApiKeySecret
    numberHashKey: numberHashKey
    twilioWebhookKeySecret: twilioWebhookKeySecret
    twilioWebhookKeySecret2: twilioWebhookKeySecret2
    eventWebhookSecret: eventWebhookSecret
    eventCallbackSecret: eventCallbackSecret
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbacAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    managedIdentityPrincipalId: apiUserAssignedIdentity.outputs.principalId
    userIdentityPrincipalId: principalId
    eventGridTopicName: eventGridTopic ? events.outputs.name : ''
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    appServicePlanName: empty(appServicePlanName) ? '${abbrs.webServerFarms}${resourceToken}' : appServicePlanName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    identityId: apiUserAssignedIdentity.outputs.resourceId
    identityClientId: apiUserAssignedIdentity.outputs.clientId
    runtimeName: 'python'
    runtimeVersion: '3.13'
    twilioAuthTokenSecretUri: keyVault.outputs.twilioAuthTokenSecretUri
    twilioApiKeySecretUri: keyVault.outputs.twilioApiKeySecretUri
    twilioAccountSid: twilioAccountSid
    twilioApiKeySid: twilioApiKeySid
    twilioFromNumber: twilioFromNumber
    twilioMessagingServiceSid: twilioMessagingServiceSid
    twilioConcurrency: twilioConcurrency
    twilioWebhookKeyId: twilioWebhookKeyId
    twilioWebhookKeySecretUri: keyVault.outputs.twilioWebhookKeySecretUri
    twilioWebhookKeyId2: twilioWebhookKeyId2
    twilioWebhookKeySecret2Uri: keyVault.outputs.twilioWebhookKeySecret2Uri
    outboundQueueName: storage.outputs.outboundQueueName
    messageLogTableName: storage.outputs.messageLogTableName
    messageIndexTableName: storage.outputs.messageIndexTableName
    messageStatsTableName: storage.outputs.messageStatsTableName
    optOutTableName: storage.outputs.optOutTableName
    retentionTableName: storage.outputs.retentionTableName
    numberHashKeySecretUri: keyVault.outputs.numberHashKeySecretUri
    consoleEntraAuth: consoleEntraAuth
    consoleEntraClientId: consoleEntraClientId
    eventsQueueName: storage.outputs.eventsQueueName
    eventDeadLetterTableName: storage.outputs.eventDeadLetterTableName
    eventDestinationTableName: storage.outputs.eventDestinationTableName
    eventGridTopicEndpoint: eventGridTopic ? events.outputs.endpoint : ''
    eventGridTypes: eventGridTypes
    eventWebhookUrl: eventWebhookUrl
    eventWebhookSecretUri: keyVault.outputs.eventWebhookSecretUri
    eventWebhookTypes: eventWebhookTypes
    eventCallbackSecretUri: keyVault.outputs.eventCallbackSecretUri
  }
  // The identity needs its roles before the app starts: Key Vault references and storage.
  dependsOn: [
    rbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_FUNCTION_NAME string = api.outputs.SERVICE_API_NAME
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output PUBLIC_BASE_URL string = api.outputs.PUBLIC_BASE_URL
output TWILIO_SMS_WEBHOOK_URL string = '${api.outputs.PUBLIC_BASE_URL}/api/twilio/sms'
output TWILIO_VOICE_WEBHOOK_URL string = '${api.outputs.PUBLIC_BASE_URL}/api/twilio/voice'
