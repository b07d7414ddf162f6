"""What the runner ran: one trial of a case (a question variant, a repeat, an agent, with or
without the attack overlay). The scorers need it to know which question was asked and
whether the attack was planted; the results key every trial by it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Trial:
    case: str  # the case's name (its folder)
    variant: int  # index into case.prompts
    prompt: str  # the question as sent (case.prompts[variant])
    repeat: int = 0  # 0-based: the n-th run of the same variant/agent/attack
    agent: str = "offline"  # evals.cases.Agent value: offline | scripted | real
    attacked: bool = False  # the case's attack overlay was loaded for this trial

    @property
    def key(self) -> str:
        """Unique within a case: for tables and for matching trials between two results."""
        attack = "attacked" if self.attacked else "clean"
        return f"v{self.variant}/r{self.repeat}/{self.agent}/{attack}"
