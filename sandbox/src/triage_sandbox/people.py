"""The demo people of the sandbox Slack workspace, one per role the approval flow knows:
the requester (may not approve their own request), two approvers (the approval service runs
with APPROVERS=TSANDBOX:U_APPROVER,TSANDBOX:U_LEAD, see plan.py) and a colleague who is not an
approver. The Slack stand-in answers `users.info` for them and the channel page lets you
act as any of them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str  # Slack handle
    real_name: str
    title: str
    role: str  # what the page says about them

    def profile(self) -> dict[str, str]:
        return {"name": self.name, "real_name": self.real_name, "title": self.title}


PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("U_REQUESTER", "riley", "Riley", "Developer", "requester"),
    DemoPerson("U_APPROVER", "avery", "Avery", "SRE", "approver"),
    DemoPerson("U_LEAD", "lee", "Lee", "Engineering lead", "approver"),
    DemoPerson("U_VIEWER", "vic", "Vic", "Product manager", "not an approver"),
)
BY_ID = {p.user_id: p for p in PEOPLE}
DEMO_USERS = {p.user_id: p.profile() for p in PEOPLE}


def display_names(bot_user_id: str) -> dict[str, str]:
    """User id → the name shown for `<@id>` mentions and message authors."""
    return {bot_user_id: "triage", **{p.user_id: p.real_name for p in PEOPLE}}


def dm_channel(user_id: str) -> str:
    """The id of the direct-message channel between `user_id` and the bot."""
    return "D_" + user_id.removeprefix("U_")
