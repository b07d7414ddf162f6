"""No model turn billed twice: a ModelCall delivered again after its answer is answered from
the store, and every crash window (after storing, before settling; mid-call) is set up
exactly as a crashed router leaves it in KV, then finished by the next delivery."""

import pytest
from triage_contracts import subjects
from triage_contracts.bus import jetstream
from triage_contracts.ids import new_id, utcnow
from triage_contracts.messages import AuditEvent, ModelResult, Usage
from triage_contracts.streams import Buckets
from triage_router.answers import AnswerStore, AuditFacts, StoredAnswer
from triage_router.budget import TeamBudget
from triage_router.ledger import DayLedger
from triage_router.spend import slot_of


@pytest.mark.parametrize("route", ["strict", "strict_stream"])
async def test_a_redelivered_call_is_answered_from_the_store_not_the_model(
    start_router, make_call, standin, with_key, route: str
) -> None:
    standin.mode = "tools_only"
    async with start_router(**with_key) as router:
        call = make_call(route=route)
        await router.send(call)
        first = await router.result(call)
        await router.send(call, msg_id=new_id("again-"))  # past the publish dedupe
        await router.settled(deliveries=2)
        # Both deliveries were acked, so whatever they published is in the streams: drain.
        results = await router.collect("RESULTS", subjects.result("T1", call.run_id), 2,
                                       within=1.0)
        audit = await router.collect("AUDIT", subjects.audit("T1", "router"), 2, within=1.0)
        ledger = await router.ledger("T1")

    assert len(standin.requests) == 1  # the model was called once
    assert [ModelResult.model_validate_json(r) for r in results] == [first]
    [event] = [AuditEvent.model_validate_json(raw) for raw in audit]  # deduplicated
    assert event.cost_usd == pytest.approx(0.8)
    assert ledger == DayLedger(spent=0.8)  # and billed once


async def test_an_answer_stored_before_a_crash_is_settled_and_published_without_a_model(
    start_router, make_call, standin, with_key
) -> None:
    async with start_router(**with_key) as router:
        call = make_call(route="strict")
        kv = await jetstream(router.broker).key_value(Buckets.IDEMPOTENCY.name)
        budget = TeamBudget(5.0, kv, hold_ttl_s=600)
        key = budget.key("T1")
        # The crashed delivery held $2, had its answer and stored it, then died.
        assert (await budget.reserve(key, slot_of(call), "crashed", 2.0)).ok
        stored = ModelResult(team_id="T1", run_id=call.run_id, step_id=call.step_id,
                             route=call.route, content="stored answer", finish_reason="stop",
                             provider="openai", model="gpt-test",
                             usage=Usage(prompt_tokens=1000, completion_tokens=200,
                                         cost_usd=0.8))
        facts = AuditFacts(actor="openai:gpt-test", detail={"cost_usd": 0.8}, cost_usd=0.8)
        await AnswerStore(kv).keep(call, StoredAnswer(attempt="crashed", ledger_key=key,
                                                      result=stored, audit=facts))
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)
        ledger = await router.ledger("T1")

    assert result == stored and standin.requests == []
    assert ledger == DayLedger(spent=0.8)  # the hold became the stored answer's cost
    assert (audit.actor, audit.cost_usd, audit.detail) == ("openai:gpt-test", 0.8,
                                                           {"cost_usd": 0.8})


async def test_a_hold_left_mid_call_is_charged_by_the_next_delivery(
    start_router, make_call, standin, with_key
) -> None:
    async with start_router(**with_key) as router:
        call = make_call(route="strict")
        kv = await jetstream(router.broker).key_value(Buckets.IDEMPOTENCY.name)
        budget = TeamBudget(5.0, kv, hold_ttl_s=600)
        # The crashed delivery was waiting for the model: the vendor may have billed it.
        assert (await budget.reserve(budget.key("T1"), slot_of(call), "crashed", 1.0)).ok
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)
        ledger = await router.ledger("T1")

    assert result.ok and len(standin.requests) == 1
    assert audit.detail["charged_unanswered_usd"] == 1.0
    assert ledger == DayLedger(spent=1.8) and f"{utcnow():%Y%m%d}" in budget.key("T1")
