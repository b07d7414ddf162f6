"""Grounded answers: every link, commit sha and #number in an answer must match what the
run fetched. Pure.

The index is built from exactly what the model saw (the tool messages of the conversation,
plus an earlier answer's evidence in the same thread). The answer is then rewritten for
Slack: verified links become links the bot builds, verified shas and numbers stay, and
anything else is removed (links) or visibly marked unverified (shas, numbers). All other
text is escaped (`slack_text`), so nothing the model wrote can ping or mask a link.
"""

import re
from dataclasses import dataclass, field

from triage_contracts.messages import Evidence

from . import slack_text

_URL = r"https?://[^\s<>\"'`|\\\]\)]+"
_TOKEN = re.compile(
    rf"\[(?P<md_label>[^\]\n]{{1,300}})\]\((?P<md_url>{_URL})\)"  # [label](url)
    rf"|<(?P<sl_url>{_URL})(?:\|(?P<sl_label>[^>\n]{{0,300}}))?>"  # <url|label> (masked link)
    rf"|(?P<url>{_URL})"  # bare URL
    r"|(?<![\w/#.-])(?P<tick>`?)(?P<sha>(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40})"
    r"(?P=tick)(?![\w-])"
    r"|(?<![\w&/])#(?P<number>\d{1,7})(?!\d)"
)
_FOUND_URL = re.compile(_URL)
_FOUND_SHA = re.compile(r"(?<![0-9a-f])[0-9a-f]{7,40}(?![0-9a-f])")
_FOUND_NUMBER = re.compile(
    r'"(?:number|issue_number|pull_number|run_number)"\s*:\s*(\d+)'
    r"|/(?:issues|pull|pulls)/(\d+)|#(\d+)")
_TRAILING = ".,;:!?)]}'\""


@dataclass
class Index:
    urls: set[str] = field(default_factory=set)
    shas: set[str] = field(default_factory=set)
    numbers: set[int] = field(default_factory=set)

    def add_text(self, text: str) -> None:
        for url in _FOUND_URL.findall(text):
            self.urls.add(normalise(url))
        self.shas.update(sha.lower() for sha in _FOUND_SHA.findall(text))
        for groups in _FOUND_NUMBER.findall(text):
            self.numbers.update(int(n) for n in groups if n)

    def add_evidence(self, evidence: list[Evidence]) -> None:
        for item in evidence:
            self.add_text(" ".join([item.url or "", item.title, item.detail,
                                    str(item.attributes)]))

    def knows_sha(self, sha: str) -> bool:
        sha = sha.lower()
        return any(known.startswith(sha) or sha.startswith(known) for known in self.shas
                   if len(known) >= 7)


def normalise(url: str) -> str:
    return url.rstrip(_TRAILING).rstrip("/").replace("\\/", "/")


@dataclass
class Grounded:
    text: str  # Slack mrkdwn, escaped, links built by the bot
    unverified: list[str] = field(default_factory=list)


def ground(answer: str, index: Index) -> Grounded:
    out = Grounded(text="")
    parts: list[str] = []
    position = 0
    source = slack_text.mrkdwn(answer)
    for match in _TOKEN.finditer(source):
        parts.append(slack_text.escape(source[position:match.start()]))
        parts.append(_rewrite(match, index, out.unverified))
        position = match.end()
    parts.append(slack_text.escape(source[position:]))
    out.text = "".join(parts)
    return out


def _rewrite(match: re.Match[str], index: Index, unverified: list[str]) -> str:
    groups = match.groupdict()
    url = groups["md_url"] or groups["sl_url"] or groups["url"]
    if url:
        return _link(url, groups["md_label"] or groups["sl_label"], index, unverified)
    if groups["sha"]:
        sha, tick = groups["sha"], groups["tick"]
        if index.knows_sha(sha):
            return f"{tick}{sha}{tick}"
        unverified.append(sha)
        return f"{tick}{sha}{tick} _(unverified)_"
    number = int(groups["number"])
    if number in index.numbers:
        return f"#{number}"
    unverified.append(f"#{number}")
    return f"#{number} _(unverified)_"


def _link(url: str, label: str | None, index: Index, unverified: list[str]) -> str:
    tail = url[len(url.rstrip(_TRAILING)):]
    clean = url[: len(url) - len(tail)] if tail else url
    if normalise(clean) in index.urls:
        # A masked link keeps a label only when it shows the link's own address.
        shown = label if label and not _FOUND_URL.match(label.strip()) else clean
        return slack_text.link(clean, shown) + slack_text.escape(tail)
    unverified.append(clean)
    shown = slack_text.escape(label.strip()) + " " if label and not _FOUND_URL.match(
        label.strip()) else ""
    return f"{shown}_(unverified link removed)_" + slack_text.escape(tail)
