"""Versioned message models. The model IS the handler signature on every subject.

Every message carries `team_id`, `run_id`, a unique `message_id` and a timestamp; W3C
trace context travels in the NATS headers (faststream's telemetry middleware). A breaking
change bumps `schema_version`; tests snapshot every JSON Schema so one is never silent.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .ids import new_id, utcnow

TeamId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RunId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
JsonDict = dict[str, Any]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    message_id: str = Field(default_factory=new_id)
    team_id: TeamId
    run_id: RunId
    created_at: datetime = Field(default_factory=utcnow)


# --- inbound requests (ingress -> orchestrator) -------------------------------------------


class RequestKind(StrEnum):
    MENTION = "mention"
    DM = "dm"
    COMMAND = "command"
    # A message in a thread without a mention: a follow-up only if the bot answered there.
    THREAD_REPLY = "thread_reply"


class TriageRequest(Message):
    """A question asked in Slack, normalised from Events API or slash-command payloads."""

    kind: Literal["triage_request"] = "triage_request"
    request_kind: RequestKind
    event_id: str
    channel_id: str
    user_id: str
    text: str
    # Where the answer goes: the thread of the asking message (None: a new message).
    thread_ts: str | None = None
    # True when the asking message was itself a reply inside an existing thread (so the
    # thread may hold an earlier answer to continue from).
    in_thread: bool = False
    enterprise_id: str | None = None
    # A slash command's response_url: the way to answer where the bot is not a member (a
    # private channel, a DM between people). A bearer capability for 30 minutes: never
    # logged or audited.
    response_url: str | None = Field(None, repr=False)


# --- work commands and their results ------------------------------------------------------


class ToolStatus(StrEnum):
    SUCCESS = "success"
    NO_DATA = "no_data"
    ERROR = "error"
    APPROVAL_REQUIRED = "approval_required"


class ApprovalGrant(BaseModel):
    """Proof that a human approved exactly one action; verified by the tools service
    (`grants.py`: Ed25519 over these fields, the call's team and the decision "approve")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approval_id: str
    action_digest: str
    approver_id: str
    decided_at: datetime
    signature: str
    # Which public key verifies it, and the signed end of its validity. Empty on grants
    # from before asymmetric signing: those are refused (approve again).
    kid: str = ""
    expires_at: datetime | None = None


class ToolCall(Message):
    kind: Literal["tool_call"] = "tool_call"
    step_id: str
    tool: str
    arguments: JsonDict = Field(default_factory=dict)
    grant: ApprovalGrant | None = None


class OutputPage(BaseModel):
    """A tool output cut to fit a prompt: what was returned and how to read on. The whole
    output is kept in the `triage-outputs` object store under `handle`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    handle: str
    unit: Literal["items", "chars"]
    returned: int
    total: int
    next_page: int | None = None


class ToolResult(Message):
    kind: Literal["tool_result"] = "tool_result"
    step_id: str
    tool: str
    status: ToolStatus
    data: Any = None
    # Detailed enough for a model (or a human) to correct the call.
    error: str | None = None
    duration_ms: float = 0.0
    # Set when `data` is a cut of a larger output (the rest is in the object store).
    page: OutputPage | None = None


class RequestedToolCall(BaseModel):
    """One function call a model asked for. `arguments` is the JSON text exactly as the
    model wrote it: it may be malformed, and the run answers that as a tool error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128)
    name: str = Field(max_length=128)
    arguments: str = Field("{}", max_length=65_536)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    # assistant: the calls it made (its content may then be empty)
    tool_calls: list[RequestedToolCall] = Field(default_factory=list)
    # tool: the call this message answers
    tool_call_id: str | None = None


class ToolSpec(BaseModel):
    """A function the model may propose (OpenAI tool format: name, description, schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    parameters: JsonDict


class ProposedAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    arguments: JsonDict
    summary: str = ""


class ModelCall(Message):
    kind: Literal["model_call"] = "model_call"
    step_id: str
    route: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = Field(default_factory=list)
    # "none": the tools are listed (the conversation refers to them) but may not be called:
    # the last turn of an investigation must answer.
    tool_choice: Literal["auto", "none"] = "auto"
    max_tokens: int = 800
    # The most this one call may cost (what is left of the run's dollar budget); the router
    # refuses a call whose worst case exceeds it instead of overspending.
    max_cost_usd: float | None = Field(None, ge=0)


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class ModelResult(Message):
    kind: Literal["model_result"] = "model_result"
    step_id: str
    route: str
    ok: bool = True
    content: str = ""
    tool_calls: list[RequestedToolCall] = Field(default_factory=list)
    # Deprecated: the single-call draft step's write proposals (the loop uses tool_calls).
    proposed_actions: list[ProposedAction] = Field(default_factory=list)
    finish_reason: str = ""
    provider: str = ""
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None
    # Why the router refused without calling a model (budget, unknown route...).
    error_code: str | None = None


class NotifyKind(StrEnum):
    REPLY = "reply"
    APPROVAL_PROMPT = "approval_prompt"
    # What the run is doing now ("Reading CI runs…"), shown in the asking thread while it
    # works (Slack's assistant status). Best effort: never answered with a NotifyResult.
    STATUS = "status"
    # A file shared in the thread (the raw evidence of a long answer): `file` is set.
    FILE = "file"


class NotifyFile(BaseModel):
    """A text file the notifier shares in the thread (Slack's external upload flow). The
    name is deterministic per run step: it is how a retry finds an earlier upload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str
    title: str
    content: str = Field(repr=False)  # redacted by the sender


class NotifyRequest(Message):
    kind: Literal["notify_request"] = "notify_request"
    step_id: str
    notify_kind: NotifyKind = NotifyKind.REPLY
    channel_id: str
    thread_ts: str | None = None
    text: str
    blocks: list[JsonDict] = Field(default_factory=list)
    # When set, edit this message (chat.update) instead of posting a new one.
    update_ts: str | None = None
    # Enterprise Grid: installations are found by enterprise and team (an org-wide install
    # has no team of its own), so the notifier needs the asking request's enterprise.
    enterprise_id: str | None = None
    # The asking slash command's response_url: where the notifier answers when Slack says
    # the bot is not in the channel (see TriageRequest.response_url).
    response_url: str | None = Field(None, repr=False)
    # With NotifyKind.FILE: the file to share; `text` is its comment in the thread.
    file: NotifyFile | None = None


class NotifyResult(Message):
    kind: Literal["notify_result"] = "notify_result"
    step_id: str
    ok: bool
    channel_id: str
    ts: str | None = None
    error: str | None = None


RunResult = Annotated[ToolResult | ModelResult | NotifyResult, Field(discriminator="kind")]


# --- approvals ----------------------------------------------------------------------------


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # e.g. "github.commit", "prometheus.query"
    title: str
    url: str | None = None
    detail: str = ""
    # Structured facts (sha, run id, issue number, metric value) a model or a rule can use.
    attributes: JsonDict = Field(default_factory=dict)


class ApprovalRequest(Message):
    kind: Literal["approval_request"] = "approval_request"
    approval_id: str
    requester_id: str
    action: ProposedAction
    action_digest: str
    evidence: list[Evidence] = Field(default_factory=list)
    draft_answer: str = ""
    question: str = ""
    channel_id: str = ""
    thread_ts: str | None = None
    expires_at: datetime


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"


class ApprovalDecision(Message):
    kind: Literal["approval_decision"] = "approval_decision"
    approval_id: str
    decision: Decision
    approver_id: str
    reason: str = ""
    action_digest: str
    decided_at: datetime = Field(default_factory=utcnow)
    # Ed25519 over the grant claims (`grants.py`) by the key `kid`; the grant it makes
    # authorises a write until `expires_at`.
    signature: str = ""
    kid: str = ""
    expires_at: datetime | None = None


# --- audit and dead letters ---------------------------------------------------------------


class AuditKind(StrEnum):
    REQUEST = "request"
    STEP = "step"
    TOOL_CALL = "tool_call"
    MODEL_CALL = "model_call"
    POLICY = "policy"
    APPROVAL = "approval"
    DECISION = "decision"
    WRITE = "write"
    NOTIFY = "notify"
    ERROR = "error"
    FEEDBACK = "feedback"  # a person rated an answer (its run's id)


class AuditEvent(Message):
    kind: Literal["audit_event"] = "audit_event"
    service: str
    audit_kind: AuditKind
    action: str
    actor: str = ""
    outcome: str = "ok"
    detail: JsonDict = Field(default_factory=dict)
    cost_usd: float = 0.0


class DeadLetter(BaseModel):
    """A message that could not be processed, with the reason; the payload is kept whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    message_id: str = Field(default_factory=new_id)
    created_at: datetime = Field(default_factory=utcnow)
    service: str
    original_subject: str
    reason: str
    error_code: str
    deliveries: int = 1
    payload: str
    headers: dict[str, str] = Field(default_factory=dict)


# --- installs (ingress -> install controller) ---------------------------------------------


class InstallKind(StrEnum):
    INSTALLED = "installed"
    UNINSTALLED = "uninstalled"  # Slack's app_uninstalled
    # Slack's tokens_revoked with the bot token among them: the workspace cannot be served.
    TOKENS_REVOKED = "tokens_revoked"


class InstallEvent(BaseModel):
    """A workspace gained or lost the app. Published only after the ingress has stored (or
    deleted) the credentials, so a consumer may act on it at once; `event_id` is the
    Nats-Msg-Id (Slack's event id for removals), so retries are stored once. No run: an
    install belongs to no question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    kind: Literal["install_event"] = "install_event"
    message_id: str = Field(default_factory=new_id)
    event_id: str
    install_kind: InstallKind
    # An org-wide (Enterprise Grid) install has no team of its own: then the enterprise id.
    team_id: TeamId
    enterprise_id: str | None = None
    is_enterprise_install: bool = False
    team_name: str | None = None
    at: datetime = Field(default_factory=utcnow)


ALL_MESSAGES: tuple[type[BaseModel], ...] = (
    TriageRequest, ToolCall, ToolResult, ModelCall, ModelResult, NotifyRequest, NotifyResult,
    ApprovalRequest, ApprovalDecision, AuditEvent, DeadLetter, InstallEvent,
)
