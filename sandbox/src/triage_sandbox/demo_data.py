"""The demo story every sandbox stand-in tells, so that the agent has something real to find.

`demo-org/checkout-api` was healthy until commit X ("Switch payment client to async
retries") landed this morning: CI has failed on it ever since, the checkout error ratio
jumped from ~0.2% to ~7%, and someone opened issue #42 about 502s. `demo-org/payments-api`
is healthy throughout (the control). The story itself is the world file `world/demo.yaml`;
this module loads it and keeps the names tests cite. Times are relative to "now" at start,
so the story is always fresh; the stand-ins all read the one world so they agree.
"""

from datetime import datetime
from pathlib import Path

from .world import load_world
from .world.model import (
    Comment,
    Commit,
    FileChange,
    Issue,
    Job,
    Person,
    PullRequest,
    Repo,
    Step,
    WorkflowRun,
    World,
)

ORG = "demo-org"
CHECKOUT = "checkout-api"
PAYMENTS = "payments-api"
BAD_COMMIT_MESSAGE = "Switch payment client to async retries"
INCIDENT_ISSUE = 42
HEALTHY_ERROR_RATIO = 0.002
BROKEN_ERROR_RATIO = 0.07
PAYMENTS_ERROR_RATIO = 0.001
# The metric whose series hold each service's 5xx ratio in the demo worlds.
ERROR_RATIO_METRIC = "http_requests_total"


class Demo(World):
    """A world with the demo story's conveniences (they assume the demo's repositories)."""

    @property
    def bad_commit(self) -> Commit:
        return self.repos[CHECKOUT].commits[0]

    def error_ratio(self, service: str, at: datetime) -> float | None:
        """The demo `5xx / all requests` ratio of a service at a time (None: unknown)."""
        for series in self.series:
            if series.name == ERROR_RATIO_METRIC and series.labels.get("service") == service:
                return series.value_at(at)
        return None


def build_demo(now: datetime | None = None, world: str | Path = "demo") -> Demo:
    """The demo story (or another world file, by packaged name or path) around `now`."""
    return Demo(**vars(load_world(world, now)))


__all__ = [
    "BAD_COMMIT_MESSAGE", "BROKEN_ERROR_RATIO", "CHECKOUT", "HEALTHY_ERROR_RATIO",
    "INCIDENT_ISSUE", "ORG", "PAYMENTS", "PAYMENTS_ERROR_RATIO", "Comment", "Commit", "Demo",
    "FileChange", "Issue", "Job", "Person", "PullRequest", "Repo", "Step", "WorkflowRun",
    "build_demo",
]
