"""`python -m triage_approval keys generate`: a new grant key pair, printed once.

The private PEM goes to the approval service only (GRANT_SIGNING_KEY with
GRANT_SIGNING_KEY_ID); the public key (base64 raw) goes into GRANT_PUBLIC_KEYS of the tools
service and the orchestrator. Nothing is written to disk: the operator pipes the output into
their secret store. The key id defaults to the first 16 hex digits of the SHA-256 of the
public key, so two keys never share one.
"""

import argparse
import hashlib
import json
import sys
from typing import TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from triage_contracts.grants import check_kid, public_key_text


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m triage_approval")
    commands = root.add_subparsers(dest="command")
    keys = commands.add_parser("keys", help="approval grant keys")
    actions = keys.add_subparsers(dest="action", required=True)
    generate = actions.add_parser("generate", help="print a new Ed25519 grant key pair")
    generate.add_argument("--kid", type=check_kid, help="key id (default: from the key)")
    generate.add_argument("--team", help="bind the public key to one Slack team id")
    generate.add_argument("--json", action="store_true", help="one JSON object")
    return root


def generate(kid: str | None, team: str | None, as_json: bool, out: TextIO) -> None:
    private = Ed25519PrivateKey.generate()
    public = public_key_text(private.public_key())
    kid = kid or hashlib.sha256(public.encode()).hexdigest()[:16]
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    entry = {kid: {"key": public, "team": team}}
    if as_json:
        json.dump({"kid": kid, "private_key_pem": pem, "public_key": public, "team": team,
                   "grant_public_keys_entry": entry}, out)
        out.write("\n")
        return
    out.write(f"# Approval service only (a Secret): GRANT_SIGNING_KEY_ID={kid}\n"
              f"# GRANT_SIGNING_KEY=\n{pem}"
              f"# Tools and orchestrator: add this entry to GRANT_PUBLIC_KEYS (JSON)\n"
              f"{json.dumps(entry)}\n")


def run(argv: list[str], out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    if args.command == "keys" and args.action == "generate":
        generate(args.kid, args.team, args.json, out)
        return 0
    parser().print_usage(sys.stderr)
    return 2
