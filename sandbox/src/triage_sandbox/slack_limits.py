"""Slack's documented limits on what a message may hold, checked by the stand-in as Slack
checks them, so a message real Slack would refuse is refused in tests too:

- `text` up to 40,000 characters (`msg_too_long`);
- up to 50 blocks; a section's text up to 3,000 characters and up to 10 fields of 2,000;
  a header's text up to 150; a context up to 10 elements; an actions block up to 25
  elements; a button's text up to 75 and its value up to 2,000; `block_id` up to 255 and
  unique (`invalid_blocks`, with what was wrong, as Slack's `response_metadata.messages`).
"""

from typing import Any

TEXT_LIMIT = 40_000
BLOCK_LIMIT = 50
SECTION_TEXT = 3_000
FIELD_TEXT = 2_000
HEADER_TEXT = 150
KNOWN_TYPES = {"section", "context", "actions", "divider", "header", "image", "input",
               "rich_text", "file", "video", "markdown"}


def text_problem(text: str | None) -> str | None:
    return "msg_too_long" if text is not None and len(text) > TEXT_LIMIT else None


def block_problems(blocks: Any) -> list[str]:
    """What Slack would say is wrong with `blocks` (empty: nothing)."""
    if blocks in (None, []):
        return []
    if not isinstance(blocks, list):
        return ["[ERROR] blocks must be an array"]
    problems = [] if len(blocks) <= BLOCK_LIMIT else [
        f"[ERROR] no more than {BLOCK_LIMIT} items allowed [json-pointer:/blocks]"]
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_TYPES:
            problems.append(f"[ERROR] unsupported type {where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255 or block_id in seen:
                problems.append(f"[ERROR] invalid or duplicate block_id {where}/block_id]")
            seen.add(str(block_id))
        problems += _block(block, where)
    return problems


def _text_of(obj: Any) -> str:
    return str(obj.get("text") or "") if isinstance(obj, dict) else ""


def _block(block: dict[str, Any], where: str) -> list[str]:
    kind, problems = block["type"], []
    if kind == "section":
        if len(_text_of(block.get("text"))) > SECTION_TEXT:
            problems.append(f"[ERROR] must be less than {SECTION_TEXT + 1} characters "
                            f"{where}/text/text]")
        fields = block.get("fields") or []
        if len(fields) > 10 or any(len(_text_of(f)) > FIELD_TEXT for f in fields):
            problems.append(f"[ERROR] too many or too long fields {where}/fields]")
        if not block.get("text") and not fields:
            problems.append(f"[ERROR] must provide text or fields {where}]")
    elif kind == "header" and len(_text_of(block.get("text"))) > HEADER_TEXT:
        problems.append(f"[ERROR] must be less than {HEADER_TEXT + 1} characters "
                        f"{where}/text/text]")
    elif kind == "context" and not 0 < len(block.get("elements") or []) <= 10:
        problems.append(f"[ERROR] must have 1 to 10 elements {where}/elements]")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 25:
            problems.append(f"[ERROR] must have 1 to 25 elements {where}/elements]")
        for j, element in enumerate(elements):
            if element.get("type") == "button" and (
                    len(_text_of(element.get("text"))) > 75
                    or len(str(element.get("value") or "")) > 2_000):
                problems.append(f"[ERROR] button text or value too long "
                                f"{where}/elements/{j}]")
    return problems
