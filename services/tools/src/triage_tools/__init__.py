"""The tool execution layer: the only place the agent touches GitHub and observability.

The orchestrator asks for a tool by name with JSON arguments (a `ToolCall` on the WORK
stream); this service validates the arguments against the tool's schema, enforces the
allow-list of repositories, rate limits, timeouts and retries, and answers with a typed
`ToolResult`. Writes run only with a human approval bound to exactly that action, and at
most once, even when JetStream delivers the command again after a crash.
"""
