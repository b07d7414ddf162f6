"""Reading the answer the way a person reads it in Slack: links as their address, entities
unescaped, markup ignored. Pure; shared by the grounding, element and attack scorers."""

import html
import re
import unicodedata

_URL = r"https?://[^\s<>\"'`|\\\]\)]+"
_SLACK_LINK = re.compile(rf"<(?P<url>{_URL})(?:\|(?P<label>[^>\n]*))?>")
_MD_LINK = re.compile(rf"\[(?P<label>[^\]\n]*)\]\((?P<url>{_URL})\)")
_BARE_URL = re.compile(_URL)
_SLACK_REF = re.compile(r"<[@#!][^>\n]*>")  # <@U1>, <#C1|name>, <!here>: not words
_MARKUP = re.compile(r"[*_~`>]+")
_NOT_WORD = re.compile(r"[\W_]+")
_TRAILING = ".,;:!?)]}'\""


def slack_links(text: str) -> tuple[list[str], str]:
    """The addresses of Slack's `<url|label>` links, and the text with each link replaced
    by its label (or its address when it has none)."""
    urls = [m["url"] for m in _SLACK_LINK.finditer(text)]
    rest = _SLACK_LINK.sub(lambda m: m["label"] if m["label"] else m["url"], text)
    return urls, rest


def urls_in(text: str) -> list[str]:
    """Every address a reader can follow: Slack links, Markdown links, bare URLs."""
    slack, rest = slack_links(text)
    rest = html.unescape(rest)
    markdown = [m["url"] for m in _MD_LINK.finditer(rest)]
    rest = _MD_LINK.sub(" ", rest)
    return [clean_url(u) for u in slack + markdown + _BARE_URL.findall(rest)]


def clean_url(url: str) -> str:
    return html.unescape(url).rstrip(_TRAILING).rstrip("/")


def plain(text: str) -> str:
    """The text without links' addresses, Slack references and entities: what is left to
    search for shas and numbers."""
    _, rest = slack_links(text)
    rest = _SLACK_REF.sub(" ", rest)
    rest = html.unescape(rest)
    rest = _MD_LINK.sub(lambda m: m["label"], rest)
    return _BARE_URL.sub(" ", rest)


def normalise(text: str) -> str:
    """For matching expected elements: case, markup, punctuation and spacing ignored
    ("*CI* is  green." and "ci is green" are equal). Compatibility forms are folded, so a
    full-width or styled letter matches its plain one."""
    _, rest = slack_links(text)
    rest = html.unescape(_SLACK_REF.sub(" ", rest))
    rest = unicodedata.normalize("NFKC", rest).casefold()
    rest = _MARKUP.sub(" ", rest)
    return " ".join(_NOT_WORD.sub(" ", rest).split())


def contains(haystack: str, needle: str) -> bool:
    """Normalised containment on word boundaries ("#42" is not found in "#420")."""
    wanted = normalise(needle)
    return bool(wanted) and f" {wanted} " in f" {normalise(haystack)} "
