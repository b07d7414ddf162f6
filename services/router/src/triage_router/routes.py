"""The routes config: named routes, each an ordered list of model targets with prices.

Callers name a route ("agent"), never a vendor; changing models or prices is a config edit.
The file is validated strictly (extra="forbid") so a typo fails at start with the reason
instead of silently routing somewhere unexpected.
"""

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from triage_contracts.messages import Usage

RouteName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ProviderName = Literal["openai", "offline"]


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: ProviderName
    model: str = Field(min_length=1)
    # Caps the caller's max_tokens (a cheap route must not become an expensive one).
    max_tokens: int | None = Field(None, gt=0)
    price_per_1k_input: float = Field(0.0, ge=0)
    price_per_1k_output: float = Field(0.0, ge=0)
    # Ask for the answer as server-sent events (openai only; the result is the same).
    stream: bool = False

    @property
    def key(self) -> str:
        """Identity of the target for breakers and metrics."""
        return f"{self.provider}:{self.model}"

    def usage(self, prompt_tokens: int, completion_tokens: int) -> Usage:
        cost = (prompt_tokens * self.price_per_1k_input
                + completion_tokens * self.price_per_1k_output) / 1000
        return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                     cost_usd=round(cost, 8))


class RoutesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    routes: dict[RouteName, Annotated[list[Target], Field(min_length=1)]]

    def get(self, name: str) -> list[Target] | None:
        return self.routes.get(name)


class RoutesFileError(ValueError):
    """The routes file is missing or invalid; raised at start so the service does not run."""


def load_routes(path: Path) -> RoutesConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutesFileError(f"cannot read routes file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RoutesFileError(f"routes file {path} is not valid YAML: {exc}") from exc
    try:
        return RoutesConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise RoutesFileError(f"routes file {path} is invalid: {problems}") from exc
