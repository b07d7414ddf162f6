"""Driving runs: load state → decide (engine) → save (CAS) → perform effects → ack.

If the process dies after the save but before the publish, nothing is lost: the run's
state still lists the commands it waits on. They are re-sent (and deduplicated by the
server) when the same input is redelivered and ignored, by the sweep, and at start-up for
every unfinished run. Once JetStream has acknowledged a command it is marked `sent` in the
state and never re-sent: a copy sent after the stream's duplicate window (15 minutes)
would be stored and done twice. A periodic sweep applies timeouts (approval expiry, run
deadline).
"""

import asyncio
from collections.abc import Callable, Sequence
from contextlib import suppress

import structlog
from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from triage_contracts.bus import jetstream
from triage_contracts.errors import ErrorCode, TemporaryError, TriageError
from triage_contracts.grants import GrantRefused, check_current, claims_of_decision
from triage_contracts.ids import utcnow
from triage_contracts.keyed import KeyedLock
from triage_contracts.logs import get_logger
from triage_contracts.messages import (
    ApprovalDecision,
    AuditKind,
    Decision,
    ModelResult,
    NotifyResult,
    ToolResult,
    TriageRequest,
)
from triage_contracts.streams import Consumers, provision_consumer

from . import engine
from .commands import Effect, ThreadContext
from .effects import Effects
from .fair_share import FairShare
from .settings import Settings
from .skills import Skill, load_skills
from .spec import WorkflowSpec, load_workflow
from .state import RunConfig, RunState
from .store import Conflict, RunStore, ThreadStore

log = get_logger("triage.orchestrator")
MAX_CAS_ATTEMPTS = 10
Decide = Callable[[RunState], engine.Outcome]


class Orchestrator:
    def __init__(self, broker: NatsBroker, settings: Settings) -> None:
        self.broker = broker
        self.settings = settings
        self.effects = Effects(broker)
        self.spec: WorkflowSpec | None = None
        self.skills: list[Skill] = []
        self.config: RunConfig = settings.run_config()
        # Public grant keys only: this process can check approvals, never make one.
        self.keyring = settings.grant_keyring()
        self._store: RunStore | None = None
        self.threads: ThreadStore | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # Finished runs never change again: skip re-reading them on every sweep.
        self._finished: set[str] = set()
        # One step of a run at a time in this process (docs/architecture.md, "Concurrent
        # consumers"): the CAS alone would be correct, but a losing step has already
        # recorded its audit events and thread record and must decide again.
        self.runs = KeyedLock()
        # One team's burst must not starve the others (fair_share.py); one team: no need.
        cap = 0 if settings.team_scope else settings.team_max_active_runs
        self.fair = FairShare(cap, settings.fair_share_retry_s) if cap else None

    # --- lifecycle -------------------------------------------------------------------

    def load_config(self) -> None:
        """Read and validate the workflow and skills; raises ConfigError with the reason."""
        self.spec = load_workflow(self.settings.workflow_file)
        self.skills = load_skills(self.settings.skills_dir, self.settings.skills)
        log.info("workflow loaded", workflow=self.spec.name,
                 skills=[f"{s.name}@{s.version}:{s.sha256[:12]}" for s in self.skills])

    async def on_start(self) -> None:
        await self._converge_request_consumer()
        self._store = RunStore(jetstream(self.broker))
        await self._store.open()
        self.threads = ThreadStore(jetstream(self.broker))
        await self.threads.open()
        self.effects.threads = self.threads
        resumed = await self.resume_all()
        log.info("unfinished runs resumed", count=resumed)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="orchestrator-sweeper")

    async def _converge_request_consumer(self) -> None:
        """Bring an existing request consumer to its current definition before consuming
        (binding to a durable keeps whatever config it has): one made before fair share
        would still give up after 5 deliveries and wait out its BackOff on every put-back."""
        spec = Consumers.ORCHESTRATOR_EVENTS
        scope = self.settings.team_scope
        await provision_consumer(jetstream(self.broker), spec.for_team(scope) if scope else spec)

    async def on_stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper

    def ready(self) -> bool:
        return self._store is not None and self.spec is not None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            raise TemporaryError("the run store is not open yet")
        return self._store

    # --- inputs ----------------------------------------------------------------------

    async def handle_request(self, request: TriageRequest) -> None:
        with structlog.contextvars.bound_contextvars(run_id=request.run_id,
                                                     team_id=request.team_id):
            async with self.runs.hold((request.team_id, request.run_id)):
                await self._start(request)

    async def _start(self, request: TriageRequest) -> None:
        assert self.spec is not None
        thread = await self._thread_of(request)
        if not engine.admits(request, thread):
            log.debug("thread reply outside a thread the bot answered: ignored")
            return
        if self.fair is not None:  # raises OverShare: the request is put back
            await self.fair.admit(request.team_id, request.run_id,
                                  lambda: self._exists(request), self._ended)
        try:
            state, effects = engine.start(request, self.spec, self.skills, self.config,
                                          thread=thread)
            await self.effects.record(request.team_id, request.run_id, effects)
            stored, _, created = await self.store.create(state)
        except BaseException:
            if self.fair is not None:  # not started after all: its slot is free
                self.fair.ended(request.team_id, request.run_id)
            raise
        if not created:
            log.info("request redelivered: the run exists, re-sending what it waits on")
            effects = list(engine.pending_commands(stored))
        await self._send(request.team_id, request.run_id, effects)

    async def _exists(self, request: TriageRequest) -> bool:
        return await self.store.load(request.team_id, request.run_id) is not None

    async def _ended(self, team_id: str, run_id: str) -> bool:
        """Over (absent: still being created by the request that counted it)."""
        loaded = await self.store.load(team_id, run_id)
        return loaded is not None and loaded[0].terminal

    async def _thread_of(self, request: TriageRequest) -> ThreadContext | None:
        """The earlier answer in the asking message's thread (None outside a thread)."""
        if not (request.in_thread and request.thread_ts):
            return None
        if self.threads is None:
            raise TemporaryError("the thread store is not open yet")
        return await self.threads.load(request.team_id, request.channel_id, request.thread_ts)

    async def handle_result(self, result: ToolResult | ModelResult | NotifyResult) -> None:
        await self._apply(result.team_id, result.run_id, lambda s: engine.on_result(s, result))

    async def handle_decision(self, decision: ApprovalDecision) -> None:
        try:
            self._check_signature(decision)
        except GrantRefused as exc:
            await self.effects.auditor.emit(
                decision.team_id, decision.run_id, AuditKind.DECISION, "decision refused",
                actor=decision.approver_id, outcome="denied",
                detail={"reason": f"invalid signature: {exc}", "code": exc.code.value,
                        "approval_id": decision.approval_id})
            raise GrantRefused(f"approval decision has an invalid signature: {exc}",
                               exc.code) from exc
        await self._apply(decision.team_id, decision.run_id,
                          lambda s: engine.on_decision(s, decision))

    def _check_signature(self, decision: ApprovalDecision) -> None:
        """An approval must be signed by a trusted key and still current; a reject or
        expiry cannot cause a write, but a signature it carries must be genuine."""
        if decision.decision is not Decision.APPROVE and not decision.signature:
            return
        claims = self.keyring.authenticate(claims_of_decision(decision), decision.signature)
        if decision.decision is Decision.APPROVE:
            check_current(claims, utcnow())

    async def _apply(self, team_id: str, run_id: str, decide: Decide) -> None:
        with structlog.contextvars.bound_contextvars(run_id=run_id, team_id=team_id):
            async with self.runs.hold((team_id, run_id)):
                await self._decide_and_save(team_id, run_id, decide)

    async def _decide_and_save(self, team_id: str, run_id: str, decide: Decide) -> None:
        for _ in range(MAX_CAS_ATTEMPTS):
            loaded = await self.store.load(team_id, run_id)
            if loaded is None:
                log.info("input for an unknown run ignored")
                return
            state, revision = loaded
            new, effects = decide(state)
            if new is state:  # ignored: maybe a redelivery after a crash; re-send
                await self.effects.record(team_id, run_id, effects)
                await self._send(team_id, run_id, engine.pending_commands(state))
                return
            await self.effects.record(team_id, run_id, effects)
            try:
                await self.store.save(new, revision)
            except Conflict:
                # Another replica moved the run: decide again on fresh state.
                log.info("run state changed concurrently; deciding again")
                continue
            if new.terminal and self.fair is not None:
                self.fair.ended(team_id, run_id)  # its team's next request may start
            await self._send(team_id, run_id, effects)
            return
        raise TemporaryError(f"run {run_id} kept changing under {MAX_CAS_ATTEMPTS} attempts",
                             ErrorCode.CONFLICT)

    async def _send(self, team_id: str, run_id: str, effects: Sequence[Effect]) -> None:
        """Perform the effects, then mark their commands sent in the run's state: only
        unmarked ones are ever re-sent, so none is stored twice after the duplicate window."""
        sent = await self.effects.perform(team_id, run_id, effects)
        for _ in range(MAX_CAS_ATTEMPTS if sent else 0):
            loaded = await self.store.load(team_id, run_id)
            marked = engine.mark_sent(loaded[0], sent) if loaded else None
            if loaded is None or marked is None:
                return
            try:
                await self.store.save(marked, loaded[1])
                return
            except Conflict:
                continue  # a transition moved the run meanwhile: mark on the fresh state
        # Left unmarked: re-sent by the next sweep, deduplicated while inside the window.

    # --- recovery and timeouts -------------------------------------------------------

    async def get_run(self, team_id: str, run_id: str) -> RunState | None:
        loaded = await self.store.load(team_id, run_id)
        return loaded[0] if loaded else None

    async def unfinished(self) -> list[RunState]:
        states = []
        for key in await self.store.keys(self.settings.team_scope):
            if key in self._finished:
                continue
            loaded = await self.store.load_key(key)
            if loaded is None:
                continue
            if loaded[0].terminal:
                self._finished.add(key)
            else:
                states.append(loaded[0])
        return states

    async def resume_all(self) -> int:
        """Re-send the pending commands of every unfinished run (the server drops the
        ones that were already sent within the duplicate window)."""
        runs = await self.unfinished()
        for state in runs:
            await self._send(state.team_id, state.run_id, engine.pending_commands(state))
        return len(runs)

    async def sweep_once(self) -> None:
        for state in await self.unfinished():
            await self._apply(state.team_id, state.run_id, engine.on_timeout)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval_s)
            try:
                await self.sweep_once()
            except (TriageError, NatsError, TimeoutError) as exc:
                # The next sweep retries; a dead sweeper would silently stop all timeouts.
                log.warning("timeout sweep failed; retrying next interval", error=str(exc))
