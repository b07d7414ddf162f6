"""Operator commands of the connector vault, run where the ingress runs (same settings):

- `python -m triage_ingress vault keygen --id ID`: a new `ID:base64key` entry for
  VAULT_MASTER_KEYS (printed once; store it in the Secret, never in a file here);
- `python -m triage_ingress vault reencrypt`: re-seal every stored credential under the
  active (first) key, encrypting plaintext rows (migration); idempotent, prints counts;
- `python -m triage_ingress vault status`: how many values each key id seals, so an old
  key is removed only once nothing needs it;
- `python -m triage_ingress manifest --base-url URL [--oauth] [--json]`: the Slack app
  manifest for that host (see manifest.py).
"""

import argparse
import sys
from typing import TextIO

from sqlalchemy import create_engine

from .rotation import key_ids_in_use, reencrypt
from .sealed_store import SealedInstallationStore
from .settings import Settings
from .vault import new_key_entry


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m triage_ingress",
        description="Slack ingress. Without a command it serves.")
    commands = root.add_subparsers(dest="command")
    vault = commands.add_parser("vault", help="connector vault: keys and rotation")
    actions = vault.add_subparsers(dest="action", required=True)
    keygen = actions.add_parser("keygen", help="print a new VAULT_MASTER_KEYS entry")
    keygen.add_argument("--id", required=True, help="key id, e.g. k2026-11")
    actions.add_parser("reencrypt", help="re-seal every credential under the active key")
    actions.add_parser("status", help="count the stored values per master key id")
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--base-url", required=True,
                          help="where Slack reaches the ingress, e.g. https://triage.acme.example")
    manifest.add_argument("--oauth", action="store_true",
                          help="add the OAuth redirect URL (installs into many workspaces)")
    manifest.add_argument("--token-rotation", action="store_true",
                          help="tokens that expire (needs --oauth: refreshed with the client "
                               "secret)")
    manifest.add_argument("--socket-mode", action="store_true",
                          help="Socket Mode (SLACK_APP_TOKEN): no request URLs")
    manifest.add_argument("--public-channels", action="store_true",
                          help="add chat:write.public: answers in public channels the bot was "
                               "not added to (with OAuth, add it to SLACK_SCOPES too)")
    manifest.add_argument("--json", action="store_true", help="JSON instead of YAML")
    return root


def _store(settings: Settings) -> SealedInstallationStore:
    engine = create_engine(settings.database_url, pool_pre_ping=True)
    return SealedInstallationStore(settings.slack_client_id or "", engine, settings.vault())


def run_vault(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    if args.action == "keygen":
        print(new_key_entry(args.id), file=out)
        return 0
    store = _store(settings)
    try:
        if args.action == "status":
            for kid, count in sorted(key_ids_in_use(store).items()):
                print(f"{kid}: {count}", file=out)
            return 0
        counts = reencrypt(store)
    finally:
        store.engine.dispose()
    for column in counts.widened:
        print(f"widened {column} to TEXT", file=out)
    for failure in counts.failed:
        print(f"FAILED {failure}", file=out)
    print(f"active key {store.vault.keys.active}: {counts.summary()}", file=out)
    return 1 if counts.failed else 0
