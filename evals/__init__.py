"""Evals: replayable questions with expectations, run against the real stack.

Unit tests prove each service keeps its promises; the evals prove the *agent* does: that
a question travelling through every service gets the right skill, the right evidence and
an answer that says what it should, and that adversarial questions (prompt injection,
pasted secrets, requests to post elsewhere, huge inputs) get nothing they should not.
The release gate (`evals.gate`) turns the results into a go / no-go.
"""
