"""The triage operator: one `Workspace` custom resource per Slack workspace.

Why it exists: each Slack workspace gets its own workers (orchestrator and tools) consuming
team-scoped durable JetStream consumers, so one noisy or misconfigured workspace can be
isolated, throttled, configured and rolled independently of the others. The operator turns a
declarative `Workspace` into those Deployments, a ConfigMap and the NATS consumers, keeps
them in sync on every change, reports progress in the resource's status, and cleans up on
deletion.
"""
