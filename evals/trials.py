"""Trials: the runs a case expands to. One trial per question variant × repeat × agent ×
(clean, and attacked when the case has an `attack`): each is one question put to the
stack in the case's world (the attack overlay for the attacked one), followed by the
case's follow-ups, and judged on its own. Repeats show flaky behaviour as a pass rate.
"""

from .cases import Agent, Case
from .scoring.trial import Trial

__all__ = ["SANDBOX_AGENTS", "Trial", "agents_for", "trials_of"]

# What the sandbox stack can play without credentials; `real` needs --model real.
SANDBOX_AGENTS = (Agent.OFFLINE, Agent.SCRIPTED)


def agents_for(case: Case, wanted: list[Agent] | None, real_model: bool) -> list[Agent]:
    """Which agents answer the case. With a real model every case runs once against it
    (the same suite, one command); else the case's own agents the sandbox can play,
    narrowed by --agent."""
    if real_model:
        return [Agent.REAL]
    own = [a for a in case.spec.agents if a in SANDBOX_AGENTS]
    return [a for a in own if wanted is None or a in wanted]


def trials_of(case: Case, repeat: int = 1, agents: list[Agent] | None = None,
              real_model: bool = False) -> list[Trial]:
    attacks = [False, True] if case.spec.attack is not None else [False]
    return [Trial(case.name, v, prompt, r, agent, attacked)
            for agent in agents_for(case, agents, real_model)
            for v, prompt in enumerate(case.prompts)
            for r in range(repeat)
            for attacked in attacks]
