"""The old judging entry, kept until the runner calls `evals.scoring.score` per trial:
why a case fails (empty: it passes), from the same scorers.

It runs the checks that need no trial and no evidence (invariants, the tools called, the
case's plain expectations); grounding, expected elements, state and attack scoring need
the Observation v2 witnesses and the trial, so only `score` runs them.
"""

from .cases import Case
from .observe import Observation
from .scoring.expectations import expectations
from .scoring.invariants import invariants
from .scoring.trajectory import trajectory


def evaluate(case: Case, obs: Observation) -> list[str]:
    checks = invariants(case, obs) + trajectory(case.spec.expect, obs)
    checks += expectations(case.spec.expect, obs)
    return [c.detail for c in checks if c.failed]
