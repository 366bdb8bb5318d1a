param name string
param location string = resourceGroup().location
param tags object = {}
param applicationInsightsName string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The gateway's OpenTelemetry metrics charted (infra/workbook/gateway.workbook.json).
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, name)
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: name
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('../workbook/gateway.workbook.json')
  }
}

output id string = workbook.id
