"""The world file's times made absolute around one "now" (see `schema.py` for the forms)."""

from datetime import UTC, datetime, timedelta

from .schema import SPAN


def span(text: str) -> timedelta:
    match = SPAN.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration like 2m or 1h30m: {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)

    def at(self, text: str) -> datetime:
        if text == "now":
            return self.now
        if text[0] in "+-":
            offset = span(text[1:])
            return self.now + offset if text[0] == "+" else self.now - offset
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def maybe(self, text: str | None) -> datetime | None:
        return None if text is None else self.at(text)
