"""The eval report: `python -m evals.report RESULTS [--previous OLD] --out report.html`.

ONE self-contained HTML file (inline CSS, inline SVG, no script, no network; a Content
Security Policy forbids loading anything), so it can be attached to a CI run or mailed and
opened anywhere. Everything from a case or an answer is escaped: answers hold text the
agent read from GitHub issues and CI logs, which anyone can write.
"""

import argparse
import sys
from html import escape
from pathlib import Path
from string import Template

from . import metrics
from .report_svg import Bar, bars, rate_colour
from .results import CaseResult, RunResults, TrialResult, load_for_cli

TEMPLATE = Path(__file__).with_name("report_template.html")


def render(results: RunResults, previous: RunResults | None = None) -> str:
    page = Template(TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(
        title="Triage agent evals", summary=escape(_summary(results)), cards=_cards(results),
        rate_plots=_rate_plots(results, previous), security_plots=_security_plot(results),
        usage_plots=_usage_plots(results), comparison=_comparison(results, previous),
        case_rows="\n".join(_case_row(c, previous) for c in results.cases))


def _summary(results: RunResults) -> str:
    trials = sum(len(c.outcomes) for c in results.cases)
    return (f"{results.mode} mode, started {results.started_at:%Y-%m-%d %H:%M} UTC, "
            f"{len(results.cases)} cases, {trials} trials, {results.duration_s:.1f}s")


def _card(label: str, value: str, tone: str = "") -> str:
    return f'<div class="card {tone}"><b>{escape(value)}</b>{escape(label)}</div>'


def _cards(results: RunResults) -> str:
    passed = sum(c.passed for c in results.cases)
    sec = metrics.security(results)
    cost = sum(t.cost_usd for c in results.cases for t in c.trials)
    tokens = sum(t.tokens for c in results.cases for t in c.trials)
    cards = [_card("cases passed", f"{passed}/{len(results.cases)}",
                   "good" if passed == len(results.cases) else "bad")]
    if sec.attack_success.total:
        cards.append(_card("attack success rate", f"{sec.asr:.0%}",
                           "bad" if sec.attack_success.passed else "good"))
    cards += [_card("tokens", f"{tokens:,}"), _card("cost", f"${cost:.4f}")]
    return "".join(cards)


def _rate_bars(rates: dict[str, metrics.Rate], before: dict[str, metrics.Rate]) -> list[Bar]:
    return [Bar(name, r.rate, f"{r.passed}/{r.total} = {r.rate:.0%}", rate_colour(r.rate),
                before[name].rate if name in before else None) for name, r in rates.items()]


def _rate_plots(results: RunResults, previous: RunResults | None) -> str:
    tags_before = metrics.per_tag(previous) if previous else {}
    skills_before = metrics.per_skill(previous) if previous else {}
    agents_before = metrics.per_agent(previous) if previous else {}
    return (bars("tags", "Pass rate per tag", _rate_bars(metrics.per_tag(results), tags_before),
                 1.0)
            + bars("skills", "Pass rate per skill (the skill the run picked)",
                   _rate_bars(metrics.per_skill(results), skills_before), 1.0)
            + bars("agents", "Pass rate per agent",
                   _rate_bars(metrics.per_agent(results), agents_before), 1.0))


def _security_plot(results: RunResults) -> str:
    sec = metrics.security(results)
    rows = [Bar(r.name, r.rate, f"{r.passed}/{r.total} = {r.rate:.0%}", colour)
            for r, colour in ((sec.clean, rate_colour(sec.clean.rate)),
                              (sec.attacked, rate_colour(sec.attacked.rate)),
                              (sec.attack_success, "bad" if sec.attack_success.passed
                               else "good"))
            if r.total]
    return bars("security", "Utility without / under attack, attack success", rows, 1.0)


def _usage_plots(results: RunResults) -> str:
    stats = [metrics.case_stats(c) for c in results.cases]
    latency = [Bar(s.name, s.latency_s or 0.0, f"{s.latency_s:.2f}s" if s.latency_s else "-")
               for s in stats]
    tokens = [Bar(s.name, s.tokens, f"{s.tokens:,.0f}") for s in stats]
    cost = [Bar(s.name, s.cost_usd, f"${s.cost_usd:.5f}") for s in stats]
    return (bars("latency", "Latency per case (mean over trials)", latency)
            + bars("tokens", "Tokens per case (mean over trials)", tokens)
            + bars("cost", "Cost per case, USD (mean over trials)", cost))


def _delta(now: float, before: float) -> str:
    points = (now - before) * 100
    tone = "delta-up" if points > 0 else "delta-down" if points < 0 else ""
    return f'<span class="{tone}">{points:+.0f} points</span>'


def _comparison(results: RunResults, previous: RunResults | None) -> str:
    if previous is None:
        return "<p>No previous results given (<code>--previous OLD.json</code>).</p>"
    now, before = metrics.per_tag(results), metrics.per_tag(previous)
    rows = [f"<tr><td>{escape(t)}</td><td class='num'>{_pct(before.get(t))}</td>"
            f"<td class='num'>{_pct(now.get(t))}</td><td class='num'>"
            f"{_delta(now[t].rate, before[t].rate) if t in now and t in before else '-'}"
            "</td></tr>" for t in sorted(set(now) | set(before))]
    old = {c.name: c for c in previous.cases}
    changed = [f"<tr><td>{escape(c.name)}</td><td>{escape(old[c.name].verdict)}</td>"
               f"<td class='{escape(c.verdict)}'>{escape(c.verdict)}</td></tr>"
               for c in results.cases if c.name in old and old[c.name].passed != c.passed]
    return ('<table id="tag-deltas"><thead><tr><th>tag</th><th>before</th><th>now</th>'
            f'<th>change</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            '<table id="case-deltas"><thead><tr><th>case whose result changed</th>'
            f'<th>before</th><th>now</th></tr></thead><tbody>{"".join(changed)}'
            '</tbody></table>')


def _pct(rate: metrics.Rate | None) -> str:
    return "-" if rate is None else f"{rate.passed}/{rate.total} = {rate.rate:.0%}"


def _checks(case: CaseResult) -> str:
    items = [f"<li>{escape(r)}</li>" for r in case.reasons[:12]]
    if case.known_failure:
        items.insert(0, f"<li><i>known: {escape(case.known_failure)}</i></li>")
    return f'<ul class="checks">{"".join(items)}</ul>' if items else ""


def _judge(trials: list[TrialResult]) -> str:
    items = []
    for trial in trials:
        for check in trial.judge_verdicts:
            mark = "skipped" if check.skipped else ("✓" if check.passed else "✗")
            tone = ' class="skip"' if check.skipped else ""
            items.append(f"<li{tone}>{mark} {escape(check.name)}: {escape(check.detail)}</li>")
    prompts = [t.judge_prompt for t in trials if t.judge_prompt]
    prompt = (f'<details><summary>judge prompt</summary><pre class="answer">'
              f'{escape(prompts[0])}</pre></details>') if prompts else ""
    listed = f'<ul class="checks">{"".join(dict.fromkeys(items))}</ul>' if items else ""
    return listed + prompt


def _case_row(case: CaseResult, previous: RunResults | None) -> str:
    stats = metrics.case_stats(case)
    low, high, stddev = stats.spread
    was = next((c for c in previous.cases if c.name == case.name), None) if previous else None
    before = f"<br><small>before: {escape(was.verdict)}</small>" if was else ""
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in case.tags)
    if metrics.flaky(case):
        tags += '<span class="tag flaky">flaky</span>'

    # The answer of the first failing trial, else the first: the one worth reading.
    shown_trial = next((t for t in case.trials if not t.passed), None) or next(
        iter(case.trials), None)
    answer = shown_trial.answer if shown_trial else ""
    shown = (f'<details><summary>{escape(shown_trial.key if shown_trial else "")}, '
             f'{len(answer)} chars</summary><pre class="answer">'
             f'{escape(answer)}</pre></details>') if answer else ""
    latency = f"{stats.latency_s:.2f}s" if stats.latency_s is not None else "-"
    return (f'<tr data-case="{escape(case.name)}"><td>{escape(case.name)}<br>{tags}</td>'
            f'<td class="{escape(case.verdict)}">{escape(case.verdict)}{before}</td>'
            f'<td class="num">{stats.passed}/{stats.trials} = {stats.pass_rate:.0%}</td>'
            f'<td class="num">{low:.0%}–{high:.0%}, sd {stddev:.2f}</td>'
            f'<td class="num">{latency}</td><td class="num">{stats.tokens:,.0f}</td>'
            f'<td class="num">${stats.cost_usd:.5f}</td><td>{_checks(case)}</td>'
            f'<td>{_judge(case.trials)}</td><td>{shown}</td></tr>')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--previous", type=Path, help="an earlier results file to compare")
    parser.add_argument("--out", type=Path, default=Path("evals/results/report.html"))
    args = parser.parse_args(argv)
    loaded = load_for_cli(args.results, args.previous)
    if loaded is None:
        return 2
    results, previous = loaded
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, previous), encoding="utf-8")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
