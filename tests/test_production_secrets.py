"""Production fails closed for every secret setting of every service: each one is typed
`SecretStr` (never printed, never in a validation error), and each one, once set, is
refused blank or as a development placeholder — also the optional ones."""

import re
import typing
from typing import Any

import pytest
from pydantic import SecretStr
from triage_approval.settings import Settings as ApprovalSettings
from triage_audit.settings import Settings as AuditSettings
from triage_contracts.settings import Environment, ServiceSettings
from triage_ingress.settings import Settings as IngressSettings
from triage_operator.install.settings import Settings as InstallControllerSettings
from triage_operator.settings import Settings as OperatorSettings
from triage_orchestrator.settings import Settings as OrchestratorSettings
from triage_router.settings import Settings as RouterSettings
from triage_tools.settings import Settings as ToolsSettings

SERVICES: dict[str, type[ServiceSettings]] = {
    "ingress": IngressSettings, "orchestrator": OrchestratorSettings, "tools": ToolsSettings,
    "router": RouterSettings, "audit": AuditSettings, "approval": ApprovalSettings,
    "operator": OperatorSettings, "install-controller": InstallControllerSettings}
SECRET_NAME = re.compile(r"(token|secret|password|passwd|api_key|private|master_key|"
                         r"signing_key|checkpoint_key)s?$")
# Named like a secret, but not one: public keys, the path of a key file (the file is the
# secret, its path is not), the name of a Kubernetes Secret.
# Names of Secrets (or public keys), not secret values.
NOT_SECRETS = {"audit_checkpoint_public_keys", "audit_checkpoint_key_file", "worker_env_secret",
               "worker_nats_secret", "worker_image_pull_secrets", "worker_openai_secret",
               # Names of Secrets and of keys inside them (the operator never reads them).
               "worker_slack_secret", "worker_slack_client_secret_key", "worker_vault_secret",
               "worker_slack_database_secret", "worker_audit_secret"}
PLACEHOLDERS = ["", "  ", "changethis", "dev-only-key", "sandbox-secret"]


def _is_secret_type(annotation: Any) -> bool:
    return SecretStr in (annotation, *typing.get_args(annotation))


def secret_fields() -> list[tuple[str, str]]:
    return sorted((service, name) for service, cls in SERVICES.items()
                  for name, field in cls.model_fields.items()
                  if _is_secret_type(field.annotation))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_setting_named_like_a_secret_is_a_secretstr(service: str) -> None:
    fields = SERVICES[service].model_fields
    plain = [name for name, field in fields.items() if SECRET_NAME.search(name)
             and name not in NOT_SECRETS and not _is_secret_type(field.annotation)]
    assert plain == []


def test_the_secret_settings_are_the_known_ones() -> None:
    """A new secret setting shows up here, so its production check is thought about."""
    names = {name for _service, name in secret_fields()}
    assert names == {
        "grant_signing_key", "grant_team_signing_keys", "slack_signing_secret",
        "slack_bot_token", "service_token",
        "slack_client_secret", "vault_master_keys", "github_token", "openai_api_key",
        "audit_api_token", "audit_checkpoint_key", "session_secret", "oidc_client_secret",
        "nats_password", "slack_app_token", "github_app_private_key"}


@pytest.mark.parametrize("service,name", secret_fields())
@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_production_refuses_each_secret_blank_or_a_placeholder(service: str, name: str,
                                                               value: str) -> None:
    cls = SERVICES[service]
    # Built without validation, then checked as start-up checks it.
    settings = cls.model_construct(environment=Environment.PRODUCTION, **{name: SecretStr(value)})
    with pytest.raises(ValueError, match=rf"\b{name.upper()}\b") as refused:
        settings.check_production_secrets()
    assert value.strip() == "" or value not in str(refused.value)
