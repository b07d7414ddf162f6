"""Grounded answers: every link, commit sha and #number in an answer must match what the
run fetched. Pure.

The index is built from exactly what the model saw (the tool messages of the conversation,
plus an earlier answer's evidence in the same thread). The answer is then rewritten for
Slack: verified links become links the bot builds, verified shas and numbers stay, and
anything else is removed (links) or visibly marked unverified (shas, numbers). All other
text is escaped (`slack_text`), so nothing the model wrote can ping or mask a link.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

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
_SHA = re.compile(r"[0-9a-f]{7,40}")
_URL_NUMBER = re.compile(r"/(?:issues|pull|pulls)/(\d+)")
URL_KEYS = frozenset({"url", "html_url", "generatorURL", "generator_url"})
NUMBER_KEYS = frozenset({"number", "issue_number", "pull_number", "run_number"})
_TRAILING = ".,;:!?)]}'\""


@dataclass
class Index:
    """What the run fetched, as structure: links are the `url`-like fields of the objects
    the tools returned (not any address written inside an issue body, a comment or a log,
    which anyone controls); shas and numbers are the fields that name them."""

    urls: set[str] = field(default_factory=set)
    shas: set[str] = field(default_factory=set)
    numbers: set[int] = field(default_factory=set)

    def add_output(self, tool_message: str) -> None:
        """One `<tool_output>` message: its JSON body, walked."""
        start, end = tool_message.find("\n"), tool_message.rfind("\n")
        try:
            body = json.loads(tool_message[start + 1:end])
        except (json.JSONDecodeError, ValueError):
            return
        self.add_data(body.get("data") if isinstance(body, dict) else None)

    def add_data(self, data: Any, depth: int = 0) -> None:
        if depth > 8:
            return
        if isinstance(data, list):
            for item in data:
                self.add_data(item, depth + 1)
        elif isinstance(data, dict):
            for key, value in data.items():
                self._add_field(str(key), value)
                self.add_data(value, depth + 1)

    def _add_field(self, key: str, value: Any) -> None:
        if key in URL_KEYS and isinstance(value, str) and value.startswith("http"):
            url = normalise(value)
            self.urls.add(url)
            self.numbers.update(int(n) for n in _URL_NUMBER.findall(url))
        elif key.endswith("sha") and isinstance(value, str) and _SHA.fullmatch(value.lower()):
            self.shas.add(value.lower())
        elif key in NUMBER_KEYS and isinstance(value, int) and not isinstance(value, bool):
            self.numbers.add(value)

    def add_evidence(self, evidence: list[Evidence]) -> None:
        for item in evidence:
            if item.url:
                self._add_field("url", item.url)
            self.add_data(item.attributes)

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
