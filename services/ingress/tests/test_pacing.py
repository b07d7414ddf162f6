"""Outbound pacing: the token bucket on its own (a clock passed in), then a burst of 30
replies to one channel through the real notifier against the Slack stand-in enforcing a
per-channel limit: nothing dropped, at most one 429 — and without pacing the stand-in does
answer 429s, so the check can fail."""

import pytest
from triage_ingress.pacing import MAX_WAIT_S, ChannelPacer

from .test_notifier import _count, drained, request, results, send


def test_a_burst_passes_then_posts_are_spaced_per_channel() -> None:
    pacer = ChannelPacer(rate=2.0, burst=3)
    assert [pacer.delay("C1", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.delay("C1", now=100.0) == pytest.approx(0.5)
    assert pacer.delay("C1", now=100.0) == pytest.approx(1.0)  # queued behind the last
    assert pacer.delay("C2", now=100.0) == 0.0  # another channel has its own bucket
    assert pacer.delay("C1", now=110.0) == 0.0  # refilled (up to the burst)


def test_waits_are_capped_and_zero_rate_turns_pacing_off() -> None:
    pacer = ChannelPacer(rate=0.1, burst=1)
    delays = [pacer.delay("C1", now=0.0) for _ in range(5)]
    assert delays[0] == 0.0 and max(delays) == MAX_WAIT_S
    off = ChannelPacer(rate=0, burst=1)
    assert {off.delay("C1", now=0.0) for _ in range(50)} == {0.0}


async def _burst(start_ingress, slack_api, wait_until, rate: float) -> list[str]:
    slack_api.state.post_rate, slack_api.state.post_burst = 5.0, 3
    notifier = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                                   slack_channel_rate=rate, slack_channel_burst=2)
    for i in range(30):
        await send(notifier, request(f"reply-{i:02d}", run_id=f"run-{i:02d}"))
    await wait_until(lambda: _count(notifier, 30), within=120)
    await wait_until(lambda: drained(notifier), within=120)
    assert all(r.ok for r in await results(notifier))
    return [c["result"] for c in slack_api.posts()]


async def test_a_paced_burst_lands_whole_with_at_most_one_429(start_ingress, slack_api,
                                                              wait_until) -> None:
    # Paced a little under the limit (rate and burst): the two clocks are not one clock,
    # and a post reaches Slack some milliseconds after it was paced.
    calls = await _burst(start_ingress, slack_api, wait_until, rate=4.5)
    assert calls.count("ok") == 30 and len(slack_api.state.messages) == 30
    assert calls.count("ratelimited") <= 1


async def test_the_stand_in_limit_is_real_without_pacing(start_ingress, slack_api,
                                                         wait_until) -> None:
    calls = await _burst(start_ingress, slack_api, wait_until, rate=0)
    assert calls.count("ok") == 30  # retried after Retry-After, nothing lost ...
    assert calls.count("ratelimited") > 1  # ... but Slack said 429 again and again


async def test_placeholders_take_their_turn_in_the_channel_pacing(start_ingress, slack_api,
                                                                  wait_until) -> None:
    """Where Slack refuses the assistant status, each run's first status posts a placeholder
    message: a new message, paced like the answers (20 runs asking at once in a channel)."""
    from triage_contracts.messages import NotifyKind
    from triage_sandbox.slack_api import FaultSpec

    slack_api.state.post_rate, slack_api.state.post_burst = 5.0, 3
    slack_api.state.faults.append(FaultSpec(method="assistant.threads.setStatus",
                                            error="invalid_thread_ts", times=20))
    notifier = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                                   slack_channel_rate=4.5, slack_channel_burst=2)
    for i in range(20):
        await send(notifier, request("investigate-t1-status", run_id=f"run-{i:02d}",
                                     notify_kind=NotifyKind.STATUS, text="Reading CI runs…"))
    await wait_until(lambda: drained(notifier), within=120)

    async def all_shown() -> bool:
        return len(slack_api.state.messages) == 20

    await wait_until(all_shown, within=120)
    calls = [c["result"] for c in slack_api.posts()]
    assert calls.count("ok") == 20 and calls.count("ratelimited") <= 1
