"""Every link, commit sha and issue/PR number in the answer must appear in what the run
fetched (or in the question asked): a model that invents `#4711` or a plausible commit
link fails here, however well the answer reads.

This judges the answer as posted, independently of the orchestrator's own grounding step
(which rewrites answers before they are posted): a defect there shows up here.
"""

import re

from ..cases import Case
from ..observe import Observation
from .check import Check, verdict
from .text import plain, urls_in
from .trial import Trial

_SHA = re.compile(r"(?<![\w/#.-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])([0-9a-f]{7,40})(?![\w-])")
_EVIDENCE_SHA = re.compile(r"(?<![0-9a-f])[0-9a-f]{7,40}(?![0-9a-f])")
_NUMBER = re.compile(r"(?<![\w&/])#(\d{1,7})(?!\d)")
_REPO_NUMBER = re.compile(r"(?<![\w/.-])([\w.-]+/[\w.-]+)#(\d{1,7})(?!\d)")
_URL_END = r"(?![A-Za-z0-9_~%+-])"
# The approval prompt links to the approval service's page for the request: the system's
# own link, not a citation of anything fetched.
_APPROVAL_PAGE = re.compile(r"^https?://[^/]+(?:/[^/?#]+)*/approvals/[A-Za-z0-9_-]+$")


def grounding(case: Case, trial: Trial, obs: Observation) -> list[Check]:
    if not case.spec.expect.grounded:
        return []
    evidence = "\n".join([obs.evidence_text, trial.prompt, *case.spec.follow_up])
    problems = ungrounded(obs.reply_text, evidence)
    if problems and not obs.evidence_text:
        problems = [f"{p} (no tool output was observed)" for p in problems]
    return verdict("grounded", problems, "every link, sha and #number is in the evidence")


def ungrounded(answer: str, evidence: str) -> list[str]:
    """What the answer cites that the evidence does not hold, one line each."""
    low = evidence.casefold()
    shas = _EVIDENCE_SHA.findall(low)
    text = plain(answer)
    problems = [f"link {u} is not in the evidence" for u in dict.fromkeys(urls_in(answer))
                if not _has_url(u, low) and not _APPROVAL_PAGE.match(u)]
    problems += [f"commit {s} is not in the evidence" for s in dict.fromkeys(_SHA.findall(text))
                 if not any(e.startswith(s) or s.startswith(e) for e in shas)]
    for repo, number in dict.fromkeys(_REPO_NUMBER.findall(text)):
        if repo.casefold() not in low or not _has_number(number, low):
            problems.append(f"{repo}#{number} is not in the evidence")
    problems += [f"#{n} is not in the evidence" for n in dict.fromkeys(_NUMBER.findall(text))
                 if not _has_number(n, low)]
    return problems


def _has_url(url: str, evidence: str) -> bool:
    return re.search(re.escape(url.casefold()) + _URL_END, evidence) is not None


def _has_number(number: str, evidence: str) -> bool:
    """As the tools print it: `#42`, a `"number": 42` field, or an /issues/42 address."""
    named = r"(?:number|issue_number|pull_number|run_number)[\"']?\s*[:=]\s*"
    pattern = rf"(?:#|\b{named}|/(?:issues|pull|pulls)/){int(number)}(?!\d)"
    return re.search(pattern, evidence) is not None
