"""The schedules: the full one (every kind of fault once) and the reduced one CI runs (a
NATS node that leads the WORK stream, the tools service, the notifier). Faults are spread
evenly over the load, one at a time, so each one's effect is measured alone."""

from collections.abc import Callable

from .schedule import Fault, Targets

# (name, seconds) -> a fault at `at` lasting `seconds`.
Step = tuple[Callable[[Targets, float, float], Fault], float]


def _service(name: str) -> Callable[[Targets, float, float], Fault]:
    return lambda t, at, seconds: t.kill(name, at, seconds)


def _leader(t: Targets, at: float, seconds: float) -> Fault:
    return t.nats_node(at, seconds, leader_of="WORK")


# The audit lock outlasts the service's SQLite busy timeout (30 s), so its writes fail.
# The model fault needs the suite on the scripted model (`Suite.scripted_model`).
FULL: list[Step] = [
    (_leader, 15), (lambda t, at, s: t.nats_frozen(at, s), 15),
    (_service("ingress"), 8), (_service("orchestrator"), 10),
    (_service("tools"), 10), (_service("router"), 10), (_service("notifier"), 10),
    (_service("audit"), 10), (_service("approval"), 10),
    (lambda t, at, s: t.slack_5xx(at, s), 15), (lambda t, at, s: t.slack_slow(at, s), 15),
    (lambda t, at, s: t.github_502(at, s), 15),
    (lambda t, at, s: t.github_quota_spent(at, s), 15),
    (lambda t, at, s: t.github_secondary(at, s), 15),
    (lambda t, at, s: t.model_slow(at, s), 15),
    (lambda t, at, s: t.audit_db_locked(at, s), 45),
]
REDUCED: list[Step] = [(_leader, 10), (_service("tools"), 8), (_service("notifier"), 8)]


def spread(steps: list[Step], load_s: float) -> Callable[[Targets], list[Fault]]:
    """The faults centred on evenly spaced points of a load lasting `load_s` seconds."""
    def build(targets: Targets) -> list[Fault]:
        gap = load_s / (len(steps) + 1)
        return [make(targets, max(0.0, gap * (i + 1) - seconds / 2), seconds)
                for i, (make, seconds) in enumerate(steps)]
    return build
