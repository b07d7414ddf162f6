"""Typed dependencies shared by the API and the pages (objects live on `app.state`)."""

from typing import Annotated

from fastapi import Depends, Request

from .decisions import Approvals
from .settings import Settings


def _approvals(request: Request) -> Approvals:
    return request.app.state.approvals  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


ApprovalsDep = Annotated[Approvals, Depends(_approvals)]
SettingsDep = Annotated[Settings, Depends(_settings)]
