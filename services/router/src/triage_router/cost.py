"""The worst case of one model call on one target, known before the call is made.

The budget reserves this amount before calling and settles the actual cost afterwards, so the
day's spent + reserved stays within the limit only if the actual cost never exceeds it: the
estimate must be an upper bound, not a guess. Byte-level tokenizers (OpenAI's BPE, and the
byte fallback of SentencePiece models) never make a token of less than one byte, so the UTF-8
size of what the model reads bounds its prompt tokens. Messages and tool schemas are measured
as their JSON (a superset of what the chat template shows the model), plus fixed allowances
for the template's framing tokens. The output side is `max_tokens` at the output price.
"""

from triage_contracts.messages import ModelCall

from .providers.base import max_tokens_for
from .routes import Target

# Chat templates add a few special tokens per message and per tool, and prime the reply;
# these allowances are several times what OpenAI's templates use.
MESSAGE_FRAMING_TOKENS = 8
TOOL_FRAMING_TOKENS = 16
REPLY_PRIMING_TOKENS = 16


def prompt_tokens_bound(call: ModelCall) -> int:
    """At most this many prompt tokens, whatever the tokenizer (see the module docstring)."""
    messages = sum(len(m.model_dump_json().encode()) + MESSAGE_FRAMING_TOKENS
                   for m in call.messages)
    tools = sum(len(t.model_dump_json().encode()) + TOOL_FRAMING_TOKENS for t in call.tools)
    return messages + tools + REPLY_PRIMING_TOKENS


def worst_case_usd(call: ModelCall, target: Target) -> float:
    """The most this call can cost on `target`: the prompt bound at the input price plus
    the output cap at the output price. Free targets (offline) cost nothing either way."""
    return target.usage(prompt_tokens_bound(call), max_tokens_for(call, target)).cost_usd
