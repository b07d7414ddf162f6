"""Benchmark P6: outbound pacing vs a naive sender against Slack's per-channel limit.

    uv run python benchmarks/pacing.py [--burst 30] [--rounds 3] [--rate 1.0]

The Slack stand-in (real uvicorn on loopback) enforces a per-channel posting limit like
Slack's (`--rate` messages per second after a burst of 3, then 429 with Retry-After). Two
senders post the same burst of replies to one channel with slack-sdk's AsyncWebClient and
its rate-limit retry handler (2 retries), as the notifier does:
- naive: all at once, relying on the retries;
- paced: the notifier's ChannelPacer (same rate, burst 2) before each post.
Reported per round: posted, dropped (gave up after the retries), 429s seen, wall time.
Rounds alternate between the two senders; loopback only, the server stops with the script.
"""

import argparse
import asyncio
import statistics
import time

import uvicorn
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.testing.natsserver import free_port
from triage_ingress.pacing import ChannelPacer
from triage_sandbox.slack_api import build_slack_api

TOKEN = "xoxb-bench-0000000000"


async def _post(web: AsyncWebClient, channel: str, i: int) -> bool:
    try:
        await web.chat_postMessage(channel=channel, text=f"reply {i}")
        return True
    except SlackApiError:
        return False


async def naive(web: AsyncWebClient, channel: str, n: int) -> list[bool]:
    return list(await asyncio.gather(*(_post(web, channel, i) for i in range(n))))


async def paced(web: AsyncWebClient, channel: str, n: int, rate: float) -> list[bool]:
    pacer, done = ChannelPacer(rate=rate * 0.9, burst=2), []
    for i in range(n):  # the notifier handles its messages one after another
        await pacer.wait(channel)
        done.append(await _post(web, channel, i))
    return done


async def main(burst: int, rounds: int, rate: float) -> None:
    app = build_slack_api(bot_token=TOKEN)
    ws = app.state.slack
    ws.post_rate, ws.post_burst = rate, 3
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # uvicorn could not start: say why
            task.result()
            raise RuntimeError("the Slack stand-in did not start")
        await asyncio.sleep(0.02)
    web = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", retry_handlers=[
        AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    rows: dict[str, list[tuple[int, int, int, float]]] = {"naive": [], "paced": []}
    try:
        for r in range(rounds):
            for name in ("naive", "paced"):
                channel = f"C_{name.upper()}_{r}"
                before = len(ws.calls)
                started = time.monotonic()
                ok = (await naive(web, channel, burst) if name == "naive"
                      else await paced(web, channel, burst, rate))
                took = time.monotonic() - started
                limited = sum(1 for c in ws.calls[before:] if c.get("result") == "ratelimited")
                rows[name].append((sum(ok), burst - sum(ok), limited, took))
    finally:
        server.should_exit = True
        await task
    print(f"burst of {burst} replies to one channel, limit {rate}/s after 3, {rounds} rounds")
    print("| sender | posted | dropped | 429s | wall s (median) |")
    print("|---|---|---|---|---|")
    for name, got in rows.items():
        print(f"| {name} | {min(g[0] for g in got)}–{max(g[0] for g in got)} "
              f"| {min(g[1] for g in got)}–{max(g[1] for g in got)} "
              f"| {min(g[2] for g in got)}–{max(g[2] for g in got)} "
              f"| {statistics.median(g[3] for g in got):.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.burst, args.rounds, args.rate))
