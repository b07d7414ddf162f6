"""The WRITE tool: nothing without an approval bound to exactly this action, and exactly one
comment however often the approved call is delivered, even after a crash mid-write."""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from triage_contracts.bus import jetstream
from triage_contracts.grants import PublicKeySpec
from triage_contracts.messages import AuditKind, ToolCall, ToolStatus
from triage_contracts.streams import Buckets
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_tools.settings import Settings
from triage_tools.writes import idempotency_key

from .conftest import APPROVAL_KEY, OTHER_TOKEN

CHECKOUT = "demo-org/checkout-api"
ARGS = {"repo": CHECKOUT, "issue_number": 42,
        "body": "Likely cause: 'Switch payment client to async retries' (CI red since)."}
COMMENTS = "/repos/demo-org/checkout-api/issues/42/comments"


def posted(github: Any) -> list[dict[str, Any]]:
    return github.get("/sandbox/comments")


def approved(tools: Any, make_grant: Any, step_id: str = "s1") -> tuple[Any, str]:
    """An approved comment call and the marker its comment carries."""
    unapproved = tools.tool_call("github.comment_issue", ARGS, step_id=step_id)
    call = unapproved.model_copy(update={"grant": make_grant(unapproved)})
    return call, f"<!-- triage:{call.run_id}:{call.step_id} -->"


async def test_without_a_grant_approval_is_required_and_nothing_is_done(
    tools: Any, github: Any
) -> None:
    call = tools.tool_call("github.comment_issue", ARGS)
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.APPROVAL_REQUIRED
    assert "approves exactly this action" in result.error
    assert len(result.data["action_digest"]) == 64
    assert posted(github) == []
    assert not [c for c in github.get("/sandbox/calls") if "/comments" in c["path"]]
    [event] = await tools.audit(call.run_id, 1)
    assert event.audit_kind == AuditKind.TOOL_CALL and event.outcome == "approval_required"


async def test_a_valid_grant_comments_exactly_once_across_deliveries(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    call = unapproved.model_copy(update={"grant": make_grant(unapproved)})
    await tools.send(call, msg_id="first-delivery")
    first = await tools.result(call)
    assert first.status == ToolStatus.SUCCESS, first.error
    await tools.send(call, msg_id="delivered-again")  # e.g. re-sent after a restart
    await tools.acked(2)

    [comment] = posted(github)
    assert comment["id"] == first.data["comment_id"] and comment["html_url"] == first.data["url"]
    assert comment["body"].startswith(ARGS["body"])
    assert comment["body"].endswith(f"<!-- triage:{call.run_id}:{call.step_id} -->")
    posts = [c for c in github.get("/sandbox/calls") if c["method"] == "POST"]
    assert len(posts) == 1
    entry = await (await jetstream(tools.broker).key_value(Buckets.IDEMPOTENCY.name)).get(
        idempotency_key(call.grant.approval_id))
    assert json.loads(entry.value)["state"] == "done"
    events = await tools.audit(call.run_id, 2)
    writes = [e for e in events if e.audit_kind == AuditKind.WRITE]
    assert [(e.outcome, e.actor) for e in writes] == [("ok", "U_APPROVER")]
    assert writes[0].detail["approval_id"] == call.grant.approval_id


async def test_after_a_crash_between_post_and_record_the_comment_is_found(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    call = unapproved.model_copy(update={"grant": make_grant(unapproved)})
    # The crashed worker: it claimed the write and posted, but never recorded the result.
    marker = f"<!-- triage:{call.run_id}:{call.step_id} -->"
    earlier = github.post(COMMENTS, {"body": f"{ARGS['body']}\n\n{marker}"})
    kv = await jetstream(tools.broker).key_value(Buckets.IDEMPOTENCY.name)
    claim = {"state": "pending", "run_id": call.run_id, "step_id": call.step_id,
             "claimed_at": time.time() - 3600}
    await kv.create(idempotency_key(call.grant.approval_id), json.dumps(claim).encode())

    await tools.send(call)  # JetStream redelivers the unacknowledged call
    result = await tools.result(call)
    assert result.status == ToolStatus.SUCCESS, result.error
    assert result.data == {"comment_id": earlier["id"], "url": earlier["html_url"]}
    assert [c["id"] for c in posted(github)] == [earlier["id"]]


async def test_a_marker_planted_by_someone_else_does_not_suppress_the_write(
    tools: Any, github: Any, make_grant: Any
) -> None:
    call, marker = approved(tools, make_grant)
    # Anyone who can comment can copy the marker format into their own comment.
    planted = github.post(COMMENTS, {"body": f"Looks fixed to me.\n\n{marker}"},
                          token=OTHER_TOKEN)
    assert planted["user"]["login"] == "mallory"

    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.SUCCESS, result.error
    assert result.data["comment_id"] != planted["id"]
    ours = [c for c in posted(github) if c["id"] == result.data["comment_id"]]
    assert [c["user"]["login"] for c in ours] == ["triage-bot"]
    assert ours[0]["body"] == f"{ARGS['body']}\n\n{marker}"


async def test_the_bot_identity_is_asked_once_or_taken_from_the_setting(
    start_tools: Any, settings: Any, github: Any, make_grant: Any
) -> None:
    def user_calls() -> int:
        return sum(c["path"] == "/user" for c in github.get("/sandbox/calls"))

    async with start_tools(settings) as tools:
        for step in ("s1", "s2"):
            call, _ = approved(tools, make_grant, step)
            await tools.send(call)
            assert (await tools.result(call)).status == ToolStatus.SUCCESS
    assert user_calls() == 1  # learnt from GET /user, then cached

    # A GitHub App's installation token cannot read /user: the login is configured.
    named = settings.model_copy(update={"github_bot_login": "Triage-Bot"})
    async with start_tools(named) as tools:
        call, marker = approved(tools, make_grant)
        earlier = github.post(COMMENTS, {"body": f"{ARGS['body']}\n\n{marker}"})
        await tools.send(call)
        result = await tools.result(call)
    assert result.data == {"comment_id": earlier["id"], "url": earlier["html_url"]}
    assert user_calls() == 1 and len(posted(github)) == 3


async def test_a_grant_for_other_arguments_is_refused(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    approved_text = {**ARGS, "body": "A harmless comment."}
    call = unapproved.model_copy(update={"grant": make_grant(unapproved,
                                                             arguments=approved_text)})
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.ERROR
    assert result.error.startswith("approval does not match this action")
    assert posted(github) == []
    writes = [e for e in await tools.audit(call.run_id, 2) if e.audit_kind == AuditKind.WRITE]
    assert [e.outcome for e in writes] == ["denied"]


async def refused(tools: Any, github: Any, call: ToolCall) -> tuple[str, str]:
    """Send `call` over NATS; (the error the model reads, the audited refusal code)."""
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.ERROR
    assert posted(github) == []
    writes = [e for e in await tools.audit(call.run_id, 2) if e.audit_kind == AuditKind.WRITE]
    assert [e.outcome for e in writes] == ["denied"]
    return result.error or "", writes[0].detail["code"]


async def test_a_forged_signature_is_refused(tools: Any, github: Any, make_grant: Any) -> None:
    # The attacker knows the key id but can only make a key pair of their own.
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    forged = make_grant(unapproved, key=GrantKeyPair.generate(APPROVAL_KEY.kid))
    error, code = await refused(tools, github, unapproved.model_copy(update={"grant": forged}))
    assert error == ("approval does not match this action: the grant's signature does not "
                     "match its content")
    assert code == "grant_bad_signature"


async def test_a_grant_signed_by_a_key_not_listed_is_refused(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    rogue = make_grant(unapproved, key=GrantKeyPair.generate("rogue"))
    error, code = await refused(tools, github, unapproved.model_copy(update={"grant": rogue}))
    assert "key 'rogue', which is not among the trusted grant keys" in error
    assert code == "grant_unknown_key"


async def test_an_edited_grant_is_refused(tools: Any, github: Any, make_grant: Any) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    grant = make_grant(unapproved)
    later = grant.model_copy(update={"expires_at": grant.expires_at + timedelta(days=7)})
    error, code = await refused(tools, github, unapproved.model_copy(update={"grant": later}))
    assert code == "grant_bad_signature"


async def test_a_key_bound_to_another_team_is_refused(
    start_tools: Any, settings: Settings, github: Any, make_grant: Any
) -> None:
    other_team = GrantKeyPair.generate("team-t2", team="T2")
    keys = {**settings.grant_public_keys,
            other_team.kid: PublicKeySpec(key=other_team.public_key, team="T2")}
    async with start_tools(settings.model_copy(update={"grant_public_keys": keys})) as tools:
        unapproved = tools.tool_call("github.comment_issue", ARGS)
        grant = make_grant(unapproved, key=other_team)
        call = unapproved.model_copy(update={"grant": grant})
        error, code = await refused(tools, github, call)
    assert "key 'team-t2' is bound to another team than T1" in error
    assert code == "grant_wrong_team"


async def test_a_grant_for_another_run_is_refused(
    tools: Any, github: Any, make_grant: Any
) -> None:
    other_run = tools.tool_call("github.comment_issue", ARGS)
    call = tools.tool_call("github.comment_issue", ARGS, grant=make_grant(other_run))
    await tools.send(call)
    assert (await tools.result(call)).status == ToolStatus.ERROR
    assert posted(github) == []


async def test_a_write_rejected_upstream_is_final(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", {**ARGS, "issue_number": 999})
    call = unapproved.model_copy(update={"grant": make_grant(unapproved)})
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.ERROR and "GitHub answered 404" in result.error
    await tools.send(call, msg_id="again")
    await tools.acked(2)
    assert posted(github) == []
    writes = [e for e in await tools.audit(call.run_id, 2) if e.audit_kind == AuditKind.WRITE]
    assert [e.outcome for e in writes] == ["error"]


async def test_an_expired_approval_is_refused(
    tools: Any, github: Any, make_grant: Any
) -> None:
    unapproved = tools.tool_call("github.comment_issue", ARGS)
    stale = make_grant(unapproved, at=datetime.now(UTC) - timedelta(hours=3))
    error, code = await refused(tools, github, unapproved.model_copy(update={"grant": stale}))
    assert "the grant expired at" in error and "approve again" in error
    assert code == "grant_expired"
