param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentStorageContainerName string
param outboundQueueName string = 'outbound'
param messageLogTableName string = 'MessageLog'
param messageIndexTableName string = 'MessageIndex'
param messageStatsTableName string = 'MessageStats'
param optOutTableName string = 'OptOuts'
param retentionTableName string = 'Retention'
param eventsQueueName string = 'events'
param eventDeadLetterTableName string = 'EventDeadLetters'
param eventDestinationTableName string = 'EventDestinations'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // Identity only, as the official templates and policies require
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentStorageContainerName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource outboundQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: outboundQueueName
}

// Where the host moves a message after maxDequeueCount failed attempts.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${outboundQueueName}-poison'
}

// Events out: signals of changes to publish, and deliveries to retry (created whether or
// not a destination is configured: the app's trigger listens to it).
resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: eventsQueueName
}

resource eventsPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${eventsQueueName}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource messageLogTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: messageLogTableName
}

// The time index behind GET /api/messages and GET /api/calls.
resource messageIndexTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: messageIndexTableName
}

// Counts per day behind GET /api/stats and the console; kept through the log's retention.
resource messageStatsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: messageStatsTableName
}

resource optOutTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: optOutTableName
}

// What outlives the purge: each purged day's counts, and the Twilio deletions still owed.
resource retentionTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: retentionTableName
}

// Events no destination took, per day; destinations switched off after a 410.
resource eventDeadLetterTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: eventDeadLetterTableName
}

resource eventDestinationTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: eventDestinationTableName
}

output name string = storage.name
output outboundQueueName string = outboundQueue.name
output messageLogTableName string = messageLogTable.name
output messageIndexTableName string = messageIndexTable.name
output messageStatsTableName string = messageStatsTable.name
output optOutTableName string = optOutTable.name
output retentionTableName string = retentionTable.name
output eventsQueueName string = eventsQueue.name
output eventDeadLetterTableName string = eventDeadLetterTable.name
output eventDestinationTableName string = eventDestinationTable.name
