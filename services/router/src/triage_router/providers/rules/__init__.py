"""The offline rules agent: without a model key, deterministic rules drive the same
tool-calling loop a model would (read the conversation, ask for tools, answer from what
came back), so every path of the investigation is exercised without a vendor."""
