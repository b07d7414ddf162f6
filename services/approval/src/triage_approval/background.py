"""The periodic sweep: expire overdue approvals, re-publish decisions whose publishing
failed, and refresh the approver directory's snapshot (what stands in while NATS is away).
It must outlive a NATS or database outage, so a failed round is logged and the next round
retries; anything unexpected still ends the task loudly."""

import asyncio
import contextlib

from sqlalchemy.exc import SQLAlchemyError
from triage_contracts.errors import TriageError
from triage_contracts.logs import get_logger

from .decisions import Approvals
from .directory import Directory

log = get_logger("triage.approval.sweep")


class Sweeper:
    def __init__(self, approvals: Approvals, directory: Directory, interval: float) -> None:
        self.approvals = approvals
        self.directory = directory
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="approval-sweeper")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.directory.refresh()
            except TriageError as exc:
                log.warning("directory not refreshed; retrying next round", error=str(exc))
            try:
                await self.approvals.sweep()
            except (TriageError, SQLAlchemyError) as exc:
                log.warning("sweep failed; retrying next round", error=str(exc))
            await asyncio.sleep(self.interval)
