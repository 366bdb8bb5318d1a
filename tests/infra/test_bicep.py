"""infra/ (Bicep) and azure.yaml, checked by parsing: the Bicep CLI cannot be installed here.

What ``azd up`` provisions must run this app: every setting it reads, every role it needs,
identity instead of keys, and the two webhook URLs for the Twilio console.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from pycep import BicepParser

from shared.platform.event_settings import EventSettings
from shared.platform.settings import Settings, load_settings
from tests.unit.test_function_app import HTTP_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
# Read by the app but never set in Azure: the storage account is reached with the managed
# identity (no connection string), and the Twilio simulator exists only locally.
NEVER_IN_AZURE = {"AzureWebJobsStorage", "TWILIO_API_BASE_URL"}
# The account name only builds the service URIs, which are set directly (as the templates do).
SET_INSTEAD = {
    "AzureWebJobsStorage__accountName": {
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
    }
}
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": ("Storage Blob Data Owner", "storageAccount"),
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": ("Storage Queue Data Contributor", "storageAccount"),
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": ("Storage Table Data Contributor", "storageAccount"),
    "3913510d-42f4-4e42-8a64-420c390055eb": ("Monitoring Metrics Publisher", "applicationInsights"),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User", "keyVault"),
    "d5a91429-5739-47e2-a06b-3470a27159e7": ("EventGrid Data Sender", "eventGridTopic"),
}


@cache
def parsed(relative: str) -> dict[str, Any]:
    return cast("dict[str, Any]", BicepParser().parse(file_path=INFRA / relative))


def resource(relative: str, name: str) -> dict[str, Any]:
    config: dict[str, Any] = parsed(relative)["resources"][name]["config"]
    return config


def app_settings() -> dict[str, Any]:
    properties: dict[str, Any] = resource("app/api.bicep", "appSettings")["properties"]
    return properties


class RecordingEnv(dict[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def settings_the_app_reads() -> set[str]:
    env = RecordingEnv(
        {
            "AzureWebJobsStorage__accountName": "gwstore",
            "AzureWebJobsStorage__credential": "managedidentity",
        }
    )
    load_settings(env)
    return env.read


def walk(node: object) -> Iterator[object]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: str(path.relative_to(INFRA)))
def test_bicep_file_parses(path: Path) -> None:
    assert parsed(str(path.relative_to(INFRA)))["resources"] or path.name == "main.bicep"


def test_every_setting_the_app_reads_is_set() -> None:
    provisioned = set(app_settings())
    provisioned |= {name for name, instead in SET_INSTEAD.items() if instead <= provisioned}

    assert settings_the_app_reads() - NEVER_IN_AZURE - provisioned == set()


@pytest.mark.parametrize("name", sorted(NEVER_IN_AZURE))
def test_connection_string_and_simulator_url_are_not_set(name: str) -> None:
    assert name not in app_settings()


def test_provisioned_settings_load_as_the_app_reads_them() -> None:
    """Literal values as given; parameters and expressions as Azure would resolve them."""
    resolved = {
        "AzureWebJobsStorage__blobServiceUri": "https://st1.blob.core.windows.net/",
        "AzureWebJobsStorage__queueServiceUri": "https://st1.queue.core.windows.net/",
        "AzureWebJobsStorage__tableServiceUri": "https://st1.table.core.windows.net/",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-0000000000c1",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=0;IngestionEndpoint=https://x",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=c1;Authorization=AAD",
        "OUTBOUND_QUEUE": "outbound",
        "MESSAGE_LOG_TABLE": "MessageLog",
        "MESSAGE_INDEX_TABLE": "MessageIndex",
        "MESSAGE_STATS_TABLE": "MessageStats",
        "OPT_OUT_TABLE": "OptOuts",
        "RETENTION_TABLE": "Retention",
        "RETENTION_DAYS": "30",
        "NUMBER_HASH_KEY": "resolved-from-key-vault-32-characters-at-least",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "resolved-from-key-vault",
        "TWILIO_API_KEY_SID": "",
        "TWILIO_API_KEY_SECRET": "",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "TWILIO_WEBHOOK_KEY_ID": "",
        "TWILIO_WEBHOOK_KEY_SECRET": "",
        "TWILIO_WEBHOOK_KEY_ID_2": "",
        "TWILIO_WEBHOOK_KEY_SECRET_2": "",
        "PUBLIC_BASE_URL": "https://func-api-abc.azurewebsites.net",
        "TWILIO_MAX_IN_FLIGHT": "24",
        "EVENTS_QUEUE": "events",
        "EVENT_DEAD_LETTER_TABLE": "EventDeadLetters",
        "EVENT_DESTINATION_TABLE": "EventDestinations",
        "EVENT_GRID_TOPIC_ENDPOINT": "https://evgt-abc.westeurope-1.eventgrid.azure.net/api/events",
        "EVENT_GRID_TYPES": "default",
        "EVENT_WEBHOOK_URL": "",
        "EVENT_WEBHOOK_SECRET": "",
        "EVENT_WEBHOOK_TYPES": "default",
        "EVENT_CALLBACK_SECRET": "",
        "'AzureWebJobs.events_publisher.Disabled'": "false",  # read by the host, not the app
    }
    parameters = set(parsed("app/api.bicep")["parameters"])

    def literal(value: object) -> bool:
        return isinstance(value, str) and "${" not in value and value not in parameters

    env = {
        name: value if literal(value) else resolved[name] for name, value in app_settings().items()
    }

    settings = load_settings(env)

    assert settings.storage_connection.identity_based
    assert settings.storage_connection.managed_identity
    assert settings.storage_connection.client_id == resolved["AzureWebJobsStorage__clientId"]
    assert settings.validate_signatures and not settings.trust_forwarded_headers
    assert settings.public_base_url == resolved["PUBLIC_BASE_URL"]
    assert settings.problems == {} and settings.retention_days == 30
    topic = settings.events.event_grid
    assert topic is not None and topic.key is None  # the managed identity publishes


def test_event_secrets_are_key_vault_references_and_the_topic_is_optional() -> None:
    settings = app_settings()

    for name, uri in (
        ("EVENT_WEBHOOK_SECRET", "eventWebhookSecretUri"),
        ("EVENT_CALLBACK_SECRET", "eventCallbackSecretUri"),
    ):
        assert f"@Microsoft.KeyVault(SecretUri=${{{uri}}})" in json.dumps(settings[name])
    assert settings["EVENT_GRID_TOPIC_KEY"] == ""
    main = parsed("main.bicep")
    assert main["parameters"]["eventGridTopic"]["default"] is False
    assert main["modules"]["events"]["config"]["condition"] == "eventGridTopic"
    topic = resource("app/eventgrid.bicep", "topic")["properties"]
    assert topic["disableLocalAuth"] is True
    assert topic["inputSchema"] == "CloudEventSchemaV1_0"


def test_the_events_function_is_switched_off_when_no_destination_is_configured() -> None:
    switch = app_settings()["'AzureWebJobs.events_publisher.Disabled'"]["operator"]
    configured = json.dumps(parsed("app/api.bicep")["variables"]["eventsConfigured"])

    assert switch["operands"] == {
        "condition": "eventsConfigured",
        "true_value": "false",
        "false_value": "true",
    }
    for parameter in ("eventGridTopicEndpoint", "eventWebhookUrl", "eventCallbackSecretUri"):
        assert f'"item_to_test": "{parameter}"' in configured


def test_storage_connection_is_identity_based_with_the_apps_identity() -> None:
    settings = app_settings()

    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"


def test_twilio_secrets_are_key_vault_references() -> None:
    settings = app_settings()

    assert settings["TWILIO_AUTH_TOKEN"] == (
        "@Microsoft.KeyVault(SecretUri=${twilioAuthTokenSecretUri})"
    )
    assert "@Microsoft.KeyVault(SecretUri=${twilioApiKeySecretUri})" in json.dumps(
        settings["TWILIO_API_KEY_SECRET"]
    )
    assert settings["NUMBER_HASH_KEY"] == (
        "@Microsoft.KeyVault(SecretUri=${numberHashKeySecretUri})"
    )
    for name, uri in (
        ("TWILIO_WEBHOOK_KEY_SECRET", "twilioWebhookKeySecretUri"),
        ("TWILIO_WEBHOOK_KEY_SECRET_2", "twilioWebhookKeySecret2Uri"),
    ):
        assert f"@Microsoft.KeyVault(SecretUri=${{{uri}}})" in json.dumps(settings[name])
    assert resource("app/api.bicep", "functionApp")["properties"]["keyVaultReferenceIdentity"] == (
        "identityId"
    )


@pytest.mark.parametrize(
    ("relative", "parameter"),
    [
        ("main.bicep", "twilioAuthToken"),
        ("main.bicep", "twilioApiKeySecret"),
        ("app/keyvault.bicep", "twilioAuthToken"),
        ("app/keyvault.bicep", "twilioApiKeySecret"),
        ("main.bicep", "numberHashKey"),
        ("app/keyvault.bicep", "numberHashKey"),
        ("main.bicep", "twilioWebhookKeySecret"),
        ("main.bicep", "twilioWebhookKeySecret2"),
        ("app/keyvault.bicep", "twilioWebhookKeySecret"),
        ("app/keyvault.bicep", "twilioWebhookKeySecret2"),
        ("main.bicep", "eventWebhookSecret"),
        ("main.bicep", "eventCallbackSecret"),
        ("app/keyvault.bicep", "eventWebhookSecret"),
        ("app/keyvault.bicep", "eventCallbackSecret"),
    ],
)
def test_secret_parameters_are_secure(relative: str, parameter: str) -> None:
    decorators = parsed(relative)["parameters"][parameter]["decorators"]

    assert {"type": "secure"} in decorators


def test_every_role_the_app_needs_is_assigned_to_its_identity_at_the_right_scope() -> None:
    rbac = parsed("app/rbac.bicep")
    role_ids = {name: var["value"] for name, var in rbac["variables"].items()}
    assigned = set()
    for definition in rbac["resources"].values():
        if definition["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = definition["config"]
        config = config.get("config", config)  # a conditional resource nests its body
        if config["properties"]["principalId"] != "managedIdentityPrincipalId":
            continue
        variable = config["properties"]["roleDefinitionId"]["function"]["parameters"][
            "resource_name_1"
        ]
        assert config["properties"]["principalType"] == "ServicePrincipal"
        assigned.add((role_ids[variable], config["scope"]))

    assert assigned == {(role, scope) for role, (_, scope) in ROLES.items()}


def test_main_passes_the_identitys_principal_to_the_role_assignments() -> None:
    params = parsed("main.bicep")["modules"]["rbac"]["config"]["params"]

    assert "apiUserAssignedIdentity" in json.dumps(params["managedIdentityPrincipalId"])


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: str(path.relative_to(INFRA)))
def test_no_key_or_connection_string_is_read_or_built(path: Path) -> None:
    text = path.read_text()

    for forbidden in ("listKeys", "listkeys", "AccountKey", "DefaultEndpointsProtocol"):
        assert forbidden not in text
    assert not re.search(r"^\s*AzureWebJobsStorage\s*:", text, re.MULTILINE)


def test_storage_allows_no_shared_key() -> None:
    properties = resource("app/storage.bicep", "storage")["properties"]

    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"


def test_application_insights_accepts_only_entra_id() -> None:
    properties = resource("app/monitoring.bicep", "applicationInsights")["properties"]

    assert properties["DisableLocalAuth"] is True
    assert app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )


def test_key_vault_authorizes_with_roles() -> None:
    assert resource("app/keyvault.bicep", "vault")["properties"]["enableRbacAuthorization"]


def test_app_is_flex_consumption_on_python_313_with_identity_deployment() -> None:
    plan = resource("app/api.bicep", "appServicePlan")
    app = resource("app/api.bicep", "functionApp")
    main_params = parsed("main.bicep")["modules"]["api"]["config"]["params"]

    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert (main_params["runtimeName"], main_params["runtimeVersion"]) == ("python", "3.13")
    storage = app["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    assert app["identity"]["type"] == "UserAssigned"


def test_queues_and_tables_are_the_ones_the_app_uses_by_default() -> None:
    storage = parsed("app/storage.bicep")
    defaults = {name: p["default"] for name, p in storage["parameters"].items()}
    queue_names = {
        resource("app/storage.bicep", name)["name"] for name in ("outboundQueue", "poisonQueue")
    }

    assert defaults["outboundQueueName"] == Settings.outbound_queue
    assert defaults["messageLogTableName"] == Settings.message_log_table
    assert defaults["messageIndexTableName"] == Settings.message_index_table
    assert defaults["messageStatsTableName"] == Settings.message_stats_table
    assert defaults["optOutTableName"] == Settings.opt_out_table
    assert defaults["retentionTableName"] == Settings.retention_table
    assert queue_names == {"outboundQueueName", "${outboundQueueName}-poison"}
    assert defaults["eventsQueueName"] == EventSettings.queue
    assert defaults["eventDeadLetterTableName"] == EventSettings.dead_letter_table
    assert defaults["eventDestinationTableName"] == EventSettings.destination_table


def test_every_module_exists_and_gets_its_required_parameters() -> None:
    for name, module in parsed("main.bicep")["modules"].items():
        path = module["detail"]["path"]
        required = {
            parameter
            for parameter, definition in parsed(path)["parameters"].items()
            if definition["default"] is None
        }
        config = module["config"].get("config", module["config"])  # a conditional one nests

        assert required <= set(config["params"]), name


def test_parameters_file_supplies_every_required_main_parameter() -> None:
    supplied = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    required = {
        name
        for name, definition in parsed("main.bicep")["parameters"].items()
        if definition["default"] is None
    }

    assert required <= set(supplied)


@pytest.mark.parametrize(
    ("output", "function"),
    [("TWILIO_SMS_WEBHOOK_URL", "twilio_sms"), ("TWILIO_VOICE_WEBHOOK_URL", "twilio_voice")],
)
def test_webhook_outputs_point_at_the_twilio_functions(output: str, function: str) -> None:
    route = HTTP_FUNCTIONS[function][0]

    assert parsed("main.bicep")["outputs"][output]["value"] == (
        "${api.outputs.PUBLIC_BASE_URL}/api/" + route
    )


def test_azd_deploys_the_app_as_a_function_and_prints_both_webhook_urls() -> None:
    project = yaml.safe_load((ROOT / "azure.yaml").read_text())

    assert project["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    for shell in ("posix", "windows"):
        script = project["hooks"]["postdeploy"][shell]["run"]
        assert "TWILIO_SMS_WEBHOOK_URL" in script and "TWILIO_VOICE_WEBHOOK_URL" in script


def test_every_string_in_the_templates_is_free_of_secrets() -> None:
    """No literal that looks like a Twilio auth token or an account key."""
    for path in BICEP_FILES:
        for node in walk(parsed(str(path.relative_to(INFRA)))):
            if isinstance(node, str):
                assert not re.fullmatch(r"[0-9a-f]{32}", node), path
                assert not re.search(r"[A-Za-z0-9+/]{60,}={0,2}", node), path


def _evaluate(node: object, names: dict[str, int]) -> int:
    """The few Bicep expressions the scale settings use: names, min, max, integer divide."""
    if isinstance(node, int):
        return node
    if isinstance(node, str):
        return names[node]
    assert isinstance(node, dict)
    if "function" in node:
        function = node["function"]
        args = [_evaluate(arg, names) for arg in function["parameters"].values()]
        return {"min": min, "max": max}[function["type"]](args)
    operator = node["operator"]
    first, second = (_evaluate(arg, names) for arg in operator["operands"].values())
    assert operator["type"] == "divide"
    return first // second


@pytest.mark.parametrize("concurrency", [1, 6, 24, 100, 1000])
def test_twilios_concurrency_caps_the_instances_and_their_requests_in_flight(
    concurrency: int,
) -> None:
    variables = parsed("app/api.bicep")["variables"]
    names = {"twilioConcurrency": concurrency}
    for name in ("sendsPerInstance", "twilioInFlightPerInstance", "maximumInstanceCount"):
        names[name] = _evaluate(variables[name]["value"], names)
    scale = resource("app/api.bicep", "functionApp")["properties"]["functionAppConfig"]
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]

    assert scale["scaleAndConcurrency"]["maximumInstanceCount"] == "maximumInstanceCount"
    setting = app_settings()["TWILIO_MAX_IN_FLIGHT"]["function"]
    assert setting == {
        "type": "string",
        "parameters": {"value_to_convert": "twilioInFlightPerInstance"},
    }
    assert names["sendsPerInstance"] == queues["batchSize"] + queues["newBatchThreshold"]
    in_flight = names["maximumInstanceCount"] * names["twilioInFlightPerInstance"]
    assert in_flight <= max(concurrency, 1)
    assert names["maximumInstanceCount"] >= 1
    assert in_flight > concurrency / 2


def test_main_passes_twilios_concurrency_to_the_app() -> None:
    api = parsed("main.bicep")["modules"]["api"]["config"]["params"]

    assert api["twilioConcurrency"] == "twilioConcurrency"


def test_entra_sign_in_is_optional_and_leaves_machine_paths_to_the_app() -> None:
    auth = resource("app/api.bicep", "consoleAuth")
    parameters = parsed("app/api.bicep")["parameters"]
    validation = auth["config"]["properties"]["globalValidation"]
    excluded = set(validation["excludedPaths"])

    assert auth["condition"] == "consoleEntraAuth"
    assert parameters["consoleEntraAuth"]["default"] is False
    assert validation["requireAuthentication"] is True
    assert {"/api/twilio/*", "/api/twiml/*", "/api/messages/*", "/api/calls/*"} <= excluded
    assert not {path for path in excluded if path.startswith(("/api/console", "/api/stats"))}


def test_every_route_machines_call_is_excluded_from_sign_in() -> None:
    excluded = resource("app/api.bicep", "consoleAuth")["config"]["properties"]["globalValidation"][
        "excludedPaths"
    ]
    people = {"console", "console/{asset}", "stats"}

    for route, _, _ in HTTP_FUNCTIONS.values():
        if route in people:
            continue
        path = "/api/" + route.replace("{id}", "x")
        assert any(
            path == rule or (rule.endswith("/*") and path.startswith(rule[:-1]))
            for rule in excluded
        ), path


def test_the_workbook_is_deployed_from_its_json_file() -> None:
    workbook = resource("app/workbook.bicep", "workbook")
    loaded = workbook["properties"]["serializedData"]["function"]

    assert loaded["type"] == "load_text_content"
    assert (INFRA / "app" / loaded["parameters"]["file_path"]).resolve() == (
        INFRA / "workbook" / "gateway.workbook.json"
    )
