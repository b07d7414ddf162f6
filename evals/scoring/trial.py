"""What the runner ran: one trial of a case (a question variant, a repeat, an agent, with or
without the attack overlay). The scorers need it to know which question was asked and
whether the attack was planted; the results key every trial by it."""

from dataclasses import dataclass

from ..cases import Agent


@dataclass(frozen=True)
class Trial:
    case: str  # the case's name (its folder)
    variant: int  # index into case.prompts
    prompt: str  # the question as sent (case.prompts[variant])
    repeat: int = 0  # 0-based: the n-th run of the same variant/agent/attack
    agent: Agent = Agent.OFFLINE  # who answered: offline rules, scripted model, real model
    attacked: bool = False  # the case's attack overlay was loaded for this trial

    @property
    def key(self) -> str:
        """Unique within a case: for tables and for matching trials between two results."""
        attack = "attacked" if self.attacked else "clean"
        return f"v{self.variant}/r{self.repeat}/{Agent(self.agent).value}/{attack}"

    @property
    def name(self) -> str:
        """The case name, plus what sets this trial apart from the plain one
        (`incident~v1~r2~scripted~attacked`); the plain trial is the case name alone."""
        parts = [self.case]
        if self.variant:
            parts.append(f"v{self.variant}")
        if self.repeat:
            parts.append(f"r{self.repeat}")
        if self.agent != Agent.OFFLINE:
            parts.append(Agent(self.agent).value)
        if self.attacked:
            parts.append("attacked")
        return "~".join(parts)
