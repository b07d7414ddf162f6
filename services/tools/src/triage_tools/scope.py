"""The team the current tool call runs for, visible to the connectors below the registry
without threading it through every client signature: what they keep (remembered GitHub
answers) is kept per team. PyGithub's worker threads see it too, since `asyncio.to_thread`
copies context variables."""

from contextvars import ContextVar

TEAM: ContextVar[str] = ContextVar("triage_tools_team", default="")
