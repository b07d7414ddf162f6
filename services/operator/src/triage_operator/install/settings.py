"""Install controller settings (env vars, upper-case field names), built once in `main`."""

from typing import Any, ClassVar

from pydantic import Field
from triage_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    nats_identity: ClassVar[str] = "install-controller"
    operator_namespace: str = Field(
        "default", description="Namespace the Workspaces are created in (the operator's)")
    # JSON, e.g. {"workers": {"replicas": 1}, "modelRoutes": {...}}: the spec of every
    # Workspace created for an install, teamId added (the chart's installController.template).
    workspace_template: dict[str, Any] = Field(
        default_factory=lambda: {"workers": {"replicas": 1}},
        description="Spec (JSON) of the Workspaces created for installs, without teamId")
    kube_timeout_s: float = Field(30.0, gt=0, description="Kubernetes API request timeout")
