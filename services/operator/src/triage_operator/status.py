"""The Workspace status as the operator reports it: what `kubectl get/describe` shows.

Conditions follow the Kubernetes convention (type, status "True"/"False", reason, message,
lastTransitionTime, observedGeneration); the transition time only moves when the status does.
"""

from datetime import UTC, datetime
from typing import Any

READY = "Ready"
# status.phase, the one word `kubectl get` shows: the operator writes Ready or Degraded on
# every reconcile; the install controller writes Installed after creating a Workspace and
# Uninstalling before deleting one.
INSTALLED, DEGRADED, UNINSTALLING = "Installed", "Degraded", "Uninstalling"


def phase(ok: bool) -> str:
    return READY if ok else DEGRADED

# Present (True) only while another Workspace holds this one's teamId.
CONFLICT = "Conflict"


def ready_condition(ok: bool, reason: str, message: str, generation: int | None,
                    previous: list[dict[str, Any]] | None) -> dict[str, Any]:
    status = "True" if ok else "False"
    before = next((c for c in previous or [] if c.get("type") == READY), None)
    since = (before or {}).get("lastTransitionTime") if (before or {}).get("status") == status \
        else None
    return {
        "type": READY, "status": status, "reason": reason, "message": message[:1000],
        "lastTransitionTime": since or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "observedGeneration": generation,
    }


def conditions(ok: bool, reason: str, message: str, generation: int | None,
               previous: list[dict[str, Any]] | None, conflict: str | None = None
               ) -> list[dict[str, Any]]:
    """The full conditions list with Ready replaced, Conflict set while `conflict` says
    why and dropped otherwise (other types are kept)."""
    others = [c for c in previous or [] if c.get("type") not in (READY, CONFLICT)]
    result = [ready_condition(ok, reason, message, generation, previous), *others]
    if conflict:
        before = next((c for c in previous or [] if c.get("type") == CONFLICT), None)
        since = (before or {}).get("lastTransitionTime")
        result.append({
            "type": CONFLICT, "status": "True", "reason": "TeamIdClaimed",
            "message": conflict[:1000], "observedGeneration": generation,
            "lastTransitionTime": since or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return result
