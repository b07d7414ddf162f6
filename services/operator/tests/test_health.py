"""The health listener the chart probes: /readyz is 503 until kopf is up, /healthz relays
kopf's own liveness endpoint (and says so when kopf is not answering)."""

import asyncio

import aiohttp
from triage_contracts.testing.natsserver import free_port
from triage_operator.health import build_health_app, start_health


async def get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


async def test_running_operator_is_live_and_ready(k8s, nats_url):
    settings = k8s.settings(nats_url)
    async with k8s.operator(settings):  # waits for /readyz == 200
        status, body = await get(f"http://127.0.0.1:{settings.port}/healthz")
        assert status == 200 and isinstance(body, dict)  # kopf's probe results (none)
        assert await get(f"http://127.0.0.1:{settings.port}/readyz") == (200, {"status": "ready"})


async def test_not_ready_before_kopf_and_not_live_without_it():
    ready, port = asyncio.Event(), free_port()
    dead_liveness = f"http://127.0.0.1:{free_port()}/healthz"  # nothing listens there
    runner = await start_health(build_health_app(dead_liveness, ready), "127.0.0.1", port)
    try:
        assert (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 503
        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and body["status"] == "down"
        ready.set()
        assert (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 200
    finally:
        await runner.cleanup()


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_reconciles_their_time_and_errors(k8s, nats_url):
    settings = k8s.settings(nats_url)
    async with k8s.operator(settings):
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.api("POST", body=k8s.workspace("broken", team="lowercase"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        await k8s.eventually(lambda: k8s.is_ready("broken", "False", "InvalidSpec"))
        samples = await k8s.scrape(settings.port)
        await k8s.api("DELETE", "acme")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "acme") is None)
        after = await k8s.scrape(settings.port)

    assert sample(samples, "triage_operator_reconciles_total",
                  handler="reconcile", outcome="ok") >= 1
    assert sample(samples, "triage_operator_reconciles_total",
                  handler="reconcile", outcome="failed") >= 1
    assert sample(samples, "triage_operator_errors_total", reason="InvalidSpec") >= 1
    assert sample(samples, "triage_operator_reconcile_seconds_count", handler="reconcile") >= 2
    assert sample(after, "triage_operator_reconciles_total", handler="cleanup", outcome="ok") == 1
