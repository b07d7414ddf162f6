"""The router app end to end: real nats-server, real uvicorn, the real openai SDK against an
OpenAI-compatible stand-in. Calls go in on the WORK stream; results, audit events and dead
letters are read back from their streams."""

import nats
import pytest
from nats.aio.msg import Msg
from triage_contracts import subjects
from triage_contracts.messages import AuditKind, DeadLetter


async def test_no_key_answers_offline_deterministically(
    start_router, make_call, expected_answer: str
) -> None:
    async with start_router() as router:
        calls = [make_call(answered=True), make_call(answered=True)]
        for call in calls:
            await router.send(call)
        results = [await router.result(call) for call in calls]
        audit = await router.audit("T1", 2)
        routes = await router.routes()

    for result in results:
        assert result.ok and result.provider == "offline"
        assert result.model == "offline-rules-1"
        assert result.content == expected_answer  # twice, byte-identical
        assert result.usage.cost_usd == 0 and result.usage.completion_tokens > 0
        assert result.tool_calls == [] and result.finish_reason == "stop"
    assert {e.audit_kind for e in audit} == {AuditKind.MODEL_CALL}
    assert audit[0].detail["provider"] == "offline" and audit[0].detail["fallbacks"] == 1
    assert audit[0].detail["attempts"][0]["outcome"] == "skipped_unconfigured"
    openai, offline = routes["routes"]["agent"]
    assert openai["usable"] is False and openai["reason"] == "OPENAI_API_KEY is not set"
    assert offline["usable"] is True and offline["breaker"] == "closed"


async def test_with_key_the_sdk_calls_the_endpoint_and_cost_is_accounted(
    start_router, make_call, standin, with_key
) -> None:
    standin.mode = "tool_calls"
    async with start_router(**with_key) as router:
        call = make_call()
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)
        metrics = await router.metrics()

    [request] = standin.requests
    assert request["model"] == "gpt-test" and request["max_tokens"] == 500
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert request["messages"][1]["content"] == call.messages[1].content
    tool = next(t for t in request["tools"] if t["function"]["name"] == "github_comment_issue")
    assert tool["type"] == "function"
    assert tool["function"]["parameters"]["required"] == ["repo", "issue_number", "body"]
    assert standin.auth == ["Bearer sk-test-0123456789abcdefghijklmnop"]

    assert result.ok and (result.provider, result.model) == ("openai", "gpt-test")
    assert result.content == "CI #57 broke checkout."
    [action] = result.proposed_actions
    assert action.tool == "github.comment_issue"
    assert action.arguments == {"repo": "demo-org/checkout-api", "issue_number": 42,
                                "body": "Likely abc1234"}
    # 1000 prompt tokens at $0.5/1k + 200 completion tokens at $1.5/1k
    assert result.usage.prompt_tokens == 1000 and result.usage.completion_tokens == 200
    assert result.usage.cost_usd == pytest.approx(0.8)
    assert audit.cost_usd == pytest.approx(0.8) and audit.detail["cost_usd"] == pytest.approx(0.8)
    assert audit.detail["fallbacks"] == 0 and audit.detail["latency_ms"] > 0

    # Neither the prompt nor the key leaves the router in audit events.
    dumped = audit.model_dump_json()
    assert "checkout-api failing" not in dumped and "sk-test" not in dumped
    assert audit.detail["prompt_chars"] == sum(len(m.content) for m in call.messages)
    labels = 'model="gpt-test",provider="openai",route="agent"'
    assert f'triage_router_cost_usd_total{{{labels}}} 0.8' in metrics
    assert f'triage_router_tokens_total{{kind="prompt",{labels}}} 1000.0' in metrics


@pytest.mark.parametrize("failure", ["500", "429", "slow", "400"])
async def test_failing_endpoint_falls_back_to_offline_and_audit_shows_it(
    start_router, make_call, standin, with_key, expected_answer: str, failure: str
) -> None:
    standin.mode = failure
    async with start_router(**with_key, model_timeout_s=0.5) as router:
        call = make_call(answered=True)
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)

    assert result.ok and result.provider == "offline" and result.content == expected_answer
    assert result.usage.cost_usd == 0
    failed, answered = audit.detail["attempts"]
    expected_outcome = "rejected" if failure == "400" else "unavailable"
    expected_error = "timeout" if failure == "slow" else f"HTTP {failure}"
    assert (failed["provider"], failed["outcome"]) == ("openai", expected_outcome)
    assert failed["error"].startswith(expected_error)
    assert answered == {**answered, "provider": "offline", "outcome": "ok"}
    assert audit.detail["fallbacks"] == 1 and len(standin.requests) == 1


async def test_breaker_opens_after_three_failures(
    start_router, make_call, standin, with_key
) -> None:
    standin.mode = "500"
    async with start_router(**with_key) as router:
        for _ in range(4):
            call = make_call()
            await router.send(call)
            assert (await router.result(call)).provider == "offline"
        audit = await router.audit("T1", 4)
        routes = await router.routes()
        metrics = await router.metrics()

    assert len(standin.requests) == 3  # the 4th call skipped the open breaker
    outcomes = [e.detail["attempts"][0]["outcome"] for e in audit]
    assert sorted(outcomes) == ["skipped_breaker_open"] + ["unavailable"] * 3
    openai = routes["routes"]["agent"][0]
    assert openai["breaker"] == "open" and openai["usable"] is False
    assert "breaker open" in openai["reason"]
    assert 'outcome="skipped_breaker_open"' in metrics


async def test_all_targets_down_is_retried_by_jetstream(
    start_router, make_call, standin, with_key
) -> None:
    standin.script = ["500"]  # the first delivery fails, the redelivery succeeds
    async with start_router(**with_key) as router:
        call = make_call(route="strict")
        await router.send(call)
        result = await router.result(call, within=20)
        audit = await router.audit("T1", 2)

    assert result.ok and result.provider == "openai" and len(standin.requests) == 2
    assert [e.outcome for e in audit] == ["retry", "ok"]
    assert audit[0].detail["attempts"][0]["error"].startswith("HTTP 500")


async def test_unknown_route_is_answered_not_dropped(start_router, make_call) -> None:
    async with start_router() as router:
        call = make_call(route="poetry")
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)

    assert result.ok is False and result.step_id == call.step_id
    assert result.error_code == "unknown_route"
    assert result.error is not None and result.error.startswith("unknown route 'poetry'")
    assert "agent" in result.error  # tells the caller what exists
    assert audit.outcome == "unknown_route" and audit.detail["route"] == "poetry"


async def test_malformed_model_call_is_dead_lettered_with_reason(start_router) -> None:
    async with start_router() as router:
        subject = subjects.work("model", "T1", "agent")
        await router.broker.publish({"team_id": "T1", "run_id": "r1", "route": "agent"},
                                    subject, stream="WORK")
        [raw] = await router.collect("DLQ", subjects.dead_letter("T1", "router"), 1)
        results = await router.collect("RESULTS", "triage.result.>", 1, within=1.0)

    letter = DeadLetter.model_validate_json(raw)
    assert letter.service == "router" and letter.original_subject == subject
    assert letter.reason.startswith("invalid message:")
    assert "step_id" in letter.reason and "messages" in letter.reason
    assert results == []


async def test_slow_call_sends_in_progress_acks(
    start_router, make_call, standin, with_key, nats_url: str
) -> None:
    standin.mode, standin.slow_s = "slow", 1.2
    heartbeats: list[bytes] = []
    nc = await nats.connect(nats_url)
    # In-progress acks are plain NATS messages to the consumer's ack subject: listen in.
    async def listen(msg: Msg) -> None:
        heartbeats.append(msg.data)

    await nc.subscribe("$JS.ACK.WORK.router.>", cb=listen)
    async with start_router(**with_key, progress_interval_s=0.2) as router:
        call = make_call()
        await router.send(call)
        result = await router.result(call)
    await nc.close()

    assert result.ok and result.provider == "openai"
    assert heartbeats.count(b"+WPI") >= 3  # 1.2 s call, a beat every 0.2 s
    assert not any(h.startswith((b"-NAK", b"+TERM")) for h in heartbeats)
