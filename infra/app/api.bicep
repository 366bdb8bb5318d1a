param name string
@description('Primary location for all resources and the Flex Consumption function app.')
param location string = resourceGroup().location
param tags object = {}
param serviceName string = 'api'
param appServicePlanName string
param applicationInsightsName string
param storageAccountName string
param deploymentStorageContainerName string
param identityId string
param identityClientId string
param runtimeName string
param runtimeVersion string
param instanceMemoryMB int = 2048
@minValue(1)
@description('Requests the Twilio account takes at once: the gateway keeps at most this many in flight.')
param twilioConcurrency int = 100
param outboundQueueName string
param messageLogTableName string
param messageIndexTableName string
param messageStatsTableName string
@description('Sign-in with Microsoft Entra ID (App Service Authentication) in front of the console and GET /api/stats; the send API and Twilio webhooks stay on function keys and signatures.')
param consoleEntraAuth bool = false
@description('Client id of the Entra ID app registration the console signs in with (when consoleEntraAuth).')
param consoleEntraClientId string = ''
param optOutTableName string
param retentionTableName string
param numberHashKeySecretUri string
@description('Days a record is kept before the retention purge deletes it (its day\'s counts stay).')
param retentionDays int = 30
param twilioAccountSid string
param twilioAuthTokenSecretUri string
param twilioApiKeySid string = ''
param twilioApiKeySecretUri string = ''
param twilioFromNumber string = ''
param twilioMessagingServiceSid string = ''
param twilioWebhookKeyId string = ''
param twilioWebhookKeySecretUri string = ''
param twilioWebhookKeyId2 string = ''
param twilioWebhookKeySecret2Uri string = ''
param eventsQueueName string
param eventDeadLetterTableName string
param eventDestinationTableName string
@description('Endpoint of the Event Grid topic events go to (empty: none); published with the managed identity.')
param eventGridTopicEndpoint string = ''
@description('Event types the topic gets: default (final statuses and inbound), all, or names like sms.sent.')
param eventGridTypes string = 'default'
@description('A webhook every event of the set goes to (empty: none), signed with eventWebhookSecret.')
param eventWebhookUrl string = ''
param eventWebhookSecretUri string = ''
param eventWebhookTypes string = 'default'
param eventCallbackSecretUri string = ''

// Twilio's concurrency, shared out by the platform rather than by a lock: each instance keeps
// at most the queue trigger's batchSize + newBatchThreshold (host.json: 8 + 16) requests in
// flight, fewer when Twilio pushes back (shared/delivery/pacing.py), and the instance count is
// capped so that all instances together stay within the account's limit.
var sendsPerInstance = 24
var twilioInFlightPerInstance = min(twilioConcurrency, sendsPerInstance)
var maximumInstanceCount = max(1, twilioConcurrency / twilioInFlightPerInstance)
// With no destination the events function is switched off, so its queue is not even polled.
var eventsConfigured = !(empty(eventGridTopicEndpoint) && empty(eventWebhookUrl) && empty(eventCallbackSecretUri))

resource stg 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appServicePlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: appServicePlanName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${stg.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
  }
}

// Every setting the gateway reads (shared/settings.py), set here so that the portal shows
// them all; empty means "not used" or "the default". TWILIO_API_BASE_URL is for the local
// simulator only and is never set in Azure.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: stg.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    PYTHON_ENABLE_OPENTELEMETRY: 'true'
    OUTBOUND_QUEUE: outboundQueueName
    MESSAGE_LOG_TABLE: messageLogTableName
    MESSAGE_INDEX_TABLE: messageIndexTableName
    MESSAGE_STATS_TABLE: messageStatsTableName
    OPT_OUT_TABLE: optOutTableName
    RETENTION_TABLE: retentionTableName
    RETENTION_DAYS: string(retentionDays)
    BODY_RETENTION_DAYS: ''
    NUMBER_HASH_KEY: '@Microsoft.KeyVault(SecretUri=${numberHashKeySecretUri})'
    TWILIO_DELETE_ON_ERASURE: 'false'
    TWILIO_DELETE_ON_PURGE: 'false'
    LOG_MESSAGE_BODIES: 'true'
    TWILIO_ACCOUNT_SID: twilioAccountSid
    TWILIO_AUTH_TOKEN: '@Microsoft.KeyVault(SecretUri=${twilioAuthTokenSecretUri})'
    TWILIO_API_KEY_SID: twilioApiKeySid
    TWILIO_API_KEY_SECRET: empty(twilioApiKeySecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${twilioApiKeySecretUri})'
    TWILIO_FROM_NUMBER: twilioFromNumber
    TWILIO_MESSAGING_SERVICE_SID: twilioMessagingServiceSid
    TWILIO_WEBHOOK_KEY_ID: twilioWebhookKeyId
    TWILIO_WEBHOOK_KEY_SECRET: empty(twilioWebhookKeySecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${twilioWebhookKeySecretUri})'
    TWILIO_WEBHOOK_KEY_ID_2: twilioWebhookKeyId2
    TWILIO_WEBHOOK_KEY_SECRET_2: empty(twilioWebhookKeySecret2Uri) ? '' : '@Microsoft.KeyVault(SecretUri=${twilioWebhookKeySecret2Uri})'
    TWILIO_TIMEOUT_SECONDS: '10'
    TWILIO_MAX_IN_FLIGHT: string(twilioInFlightPerInstance)
    TWILIO_RETRY_FIRST_SECONDS: '10'
    TWILIO_RETRY_MAX_SECONDS: '600'
    TWILIO_RETRY_BUDGET_HOURS: '24'
    TWILIO_VALIDATE_SIGNATURES: 'true'
    PUBLIC_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
    TRUST_FORWARDED_HEADERS: 'false'
    SEND_LEASE_SECONDS: '120'
    STATUS_CHECK_SECONDS: '60'
    SMS_AUTO_REPLY: ''
    VOICE_MODE: ''
    VOICE_GREETING: ''
    VOICE_FORWARD_TO: ''
    VOICE_VOICE: ''
    VOICE_LANGUAGE: ''
    VOICE_MENU_PROMPT: ''
    VOICE_MENU: ''
    VOICE_NO_CHOICE: ''
    VOICE_INVALID_CHOICE: ''
    VOICE_VOICEMAIL_PROMPT: ''
    VOICE_GOODBYE: ''
    EVENTS_QUEUE: eventsQueueName
    EVENT_DEAD_LETTER_TABLE: eventDeadLetterTableName
    EVENT_DESTINATION_TABLE: eventDestinationTableName
    EVENT_GRID_TOPIC_ENDPOINT: eventGridTopicEndpoint
    EVENT_GRID_TOPIC_KEY: ''
    EVENT_GRID_NAMESPACE_TOPIC: ''
    EVENT_GRID_TYPES: eventGridTypes
    EVENT_GRID_BODIES: 'false'
    EVENT_WEBHOOK_URL: eventWebhookUrl
    EVENT_WEBHOOK_SECRET: empty(eventWebhookSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${eventWebhookSecretUri})'
    EVENT_WEBHOOK_TYPES: eventWebhookTypes
    EVENT_WEBHOOK_BODIES: 'false'
    EVENT_CALLBACK_SECRET: empty(eventCallbackSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${eventCallbackSecretUri})'
    EVENT_CALLBACK_TYPES: 'default'
    EVENT_RETRY_FIRST_SECONDS: '30'
    EVENT_RETRY_MAX_SECONDS: '3600'
    EVENT_RETRY_BUDGET_HOURS: '72'
    EVENT_SIGNAL_DELAY_SECONDS: '5'
    EVENT_SIGNAL_CHECKS: '5'
    'AzureWebJobs.events_publisher.Disabled': eventsConfigured ? 'false' : 'true'
  }
}

// App Service Authentication: people sign in with Entra ID before the console loads. Paths
// that machines call (Twilio's webhooks and TwiML fetches, the send and list API with its
// function key) are left to the app's own checks.
resource consoleAuth 'Microsoft.Web/sites/config@2024-04-01' = if (consoleEntraAuth) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/twilio/*'
        '/api/twiml/*'
        '/api/preview/*'
        '/api/messages'
        '/api/messages/*'
        '/api/calls'
        '/api/calls/*'
        '/api/openapi.json'
        '/api/numbers/*'
        '/api/events/*'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: consoleEntraClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${consoleEntraClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

output SERVICE_API_NAME string = functionApp.name
output PUBLIC_BASE_URL string = 'https://${functionApp.properties.defaultHostName}'
