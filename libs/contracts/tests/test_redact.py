"""Redaction, property-tested: a secret of any known shape, with any body, placed in any
text, never comes out of `redact_text` (nor out of `redact` inside JSON-like data)."""

import base64
import string
import subprocess
import sys

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from triage_contracts.redact import find_secrets, redact, redact_text

ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"


def body(alphabet: str, least: int, most: int = 60) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=least, max_size=most)


def prefixed(prefix: str, alphabet: str, least: int) -> st.SearchStrategy[str]:
    return body(alphabet, least).map(lambda b: prefix + b)


slack_tokens = st.one_of(
    *[prefixed(f"xox{kind}-", ALNUM + "-", 10) for kind in "abposr"],
    prefixed("xoxe-1-", ALNUM, 10),  # refresh token
    *[prefixed(f"xoxe.xox{kind}-1-", ALNUM, 10) for kind in "bp"],  # rotating tokens
    prefixed("xapp-1-", ALNUM + "-", 10),  # app-level token
)
jwts = st.tuples(body(B64URL, 8), body(B64URL, 8), body(B64URL, 0, 86)).map(
    lambda parts: f"eyJ{parts[0]}.{parts[1]}.{parts[2]}")
pem_keys = st.tuples(
    st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]),
    st.lists(st.binary(min_size=1, max_size=48), min_size=1, max_size=6),
    st.sampled_from(["\n", "\r\n", "\\n"]),  # real newlines, or escaped inside JSON
).map(lambda k: k[2].join([f"-----BEGIN {k[0]}PRIVATE KEY-----",
                           *[base64.b64encode(line).decode() for line in k[1]],
                           f"-----END {k[0]}PRIVATE KEY-----"]))
glued = st.one_of(
    slack_tokens, jwts,
    prefixed("ghp_", ALNUM, 20), prefixed("github_pat_", ALNUM + "_", 20),
    prefixed("AKIA", string.ascii_uppercase + string.digits, 16).map(lambda t: t[:20]),
    prefixed("https://hooks.slack.com/services/", ALNUM + "/", 10),
)
# Generic shapes keep a word boundary in front (else "task-…" would be a key): they are
# tested after a non-word character.
bounded = st.one_of(
    prefixed("sk-", ALNUM + "_-", 20), prefixed("sk-proj-", ALNUM, 20),
    body("0123456789abcdef", 64, 64).map(lambda h: "v0=" + h),
)
texts = st.text(max_size=80)
separators = st.sampled_from([" ", "\n", "(", '"', "'", ":", "=", "<", ",", "\t", "/"])


@settings(max_examples=400)
@given(before=texts, secret=st.one_of(glued, pem_keys), after=texts)
def test_a_secret_anywhere_in_text_never_survives(before: str, secret: str, after: str):
    cleaned = redact_text(before + secret + after)
    assert secret not in cleaned
    assert find_secrets(before + secret + after)


@settings(max_examples=300)
@given(before=texts, sep=separators, secret=bounded, after=texts)
def test_a_generic_key_after_a_boundary_never_survives(before: str, sep: str, secret: str,
                                                       after: str) -> None:
    assert secret not in redact_text(before + sep + secret + after)


@settings(max_examples=200)
@given(secret=st.one_of(glued, pem_keys), key=st.text(max_size=10), depth=st.integers(0, 3))
def test_nested_data_is_redacted_at_any_depth(secret: str, key: str, depth: int) -> None:
    data: object = {key: f"see {secret} here"}
    for _ in range(depth):
        data = [{"wrapped": data}]
    assert secret not in repr(redact(data))


@given(pem=pem_keys)
def test_a_private_key_block_goes_whole(pem: str) -> None:
    cleaned = redact_text(f"config:\n{pem}\nafter")
    assert "PRIVATE KEY" not in cleaned and cleaned.endswith("after")
    assert all(line not in cleaned for line in pem.splitlines()[1:-1] if len(line) > 3)


def test_the_named_shapes() -> None:
    samples = {
        "slack_token": "xoxe.xoxp-1-Mi0yLTE3MjU0NDEyNDItMTIzNDU2Nzg5MA",
        "slack_app_token": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVMSJ9.c2lnbmF0dXJlLWJ5dGVz",
        "slack_webhook": "https://hooks.slack.com/services/T0A/B0B/XyZsecret123",
    }
    for name, sample in samples.items():
        assert redact_text(f"x {sample} y") == f"x [REDACTED:{name}] y"
    # A slash command's or a click's response_url is a bearer capability too.
    for url in ("https://hooks.slack.com/commands/T0A/1234567890/XyZsecret123",
                "https://hooks.slack.com/actions/T0A/1234567890/XyZsecret123"):
        assert redact_text(url) == "[REDACTED:slack_webhook]"
    assert redact({"response_url": "https://x"}) == {"response_url": "[REDACTED]"}
    assert redact_text("refresh xoxe-1-My0xLTEtYWJjZGVmZ2hpams") == (
        "refresh [REDACTED:slack_token]")
    # Words that only look alike stay readable.
    for text in ("task-0123456789abcdefghijklmn", "eyJ only", "xoxb-short",
                 "-----BEGIN PUBLIC KEY-----"):
        assert redact_text(text) == text
    assert redact({"refresh_token": "anything", "user_token": "x"}) == {
        "refresh_token": "[REDACTED]", "user_token": "[REDACTED]"}


KEYS = ["password", "secret", "client_secret", "api_key", "API-KEY", "token", "access_token",
        "SLACK_SIGNING_SECRET"]
# How a key and its value meet: an env file, YAML, JSON, a Python repr of a dict.
JOINS = ["=", ": ", '": "', "': '", '":"']
values = st.text(ALNUM + "!#$%&()*+,-./;<>?@[]^_`{|}~", min_size=8, max_size=40)


@settings(max_examples=300)
@given(before=texts, key=st.sampled_from(KEYS), join=st.sampled_from(JOINS), value=values)
def test_a_value_assigned_to_a_secret_key_never_survives(before: str, key: str, join: str,
                                                         value: str) -> None:
    assume(value not in before)  # what is written before the key is not the key's
    # Nor may the value be spelt by what stays: the key itself ("password=password") or
    # the marker's own words ("assword_" is in "[REDACTED:password_assignment]").
    assume(value not in f"{key} [REDACTED] [REDACTED:password_assignment]")
    quote = join[0] if join[0] in "\"'" else ""
    text = f"{before} {quote}{key}{join}{value}{quote} end"
    assert value not in redact_text(text)


def test_library_logs_are_redacted_too() -> None:
    """slack-sdk, SQLAlchemy, uvicorn log through the standard library: a real process with
    the service logging set up, a library logging a token, nothing of it on stderr."""
    token = "xoxe-1-My0xLTEtTGlicmFyeUxvZ0xlYWs"
    script = ("import logging\nfrom triage_contracts.logs import configure_logging\n"
              "configure_logging('t', 'DEBUG')\n"
              f"logging.getLogger('slack_sdk.web.base_client').debug('body: %s', "
              f"{{'refresh_token': '{token}'}})\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "body:" in done.stderr and token not in done.stderr + done.stdout
