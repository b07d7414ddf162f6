"""The fault run as markdown: how it ran, the invariants, and one row per fault."""

from .verdict import Verdict


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def render(verdict: Verdict, setup: list[str]) -> str:
    lines = ["| invariant | measured | held |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**NO**'} |"
              for name, value, ok in verdict.invariants]
    rows = ["| fault | hit | lasted (s) | runs affected | answered | failed with a message "
            "| stuck | recovery (s) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    rows += [f"| {f.name} | {f.target or '—'}{' ⚠ ' + f.error if f.error else ''} | "
             f"{f.seconds:.1f} | {f.affected} | {f.answered - f.failed_with_message} | "
             f"{f.failed_with_message} | {f.affected - f.answered} | "
             f"{_seconds(f.recovery_s)} |" for f in verdict.faults]
    totals = (f"{verdict.acked} events acknowledged with 200 ({verdict.unacked} never "
              f"acknowledged after retries): {verdict.answered} answered, "
              f"{len(verdict.failed_with_message)} failed with a message to the asker, "
              f"{len(verdict.stuck)} stuck; median time to the first reply "
              f"{_seconds(verdict.median_reply_s)} s.")
    return "\n".join([*(f"- {line}" for line in setup), "", totals, "", *lines, "", *rows, ""])
