"""Rendering the permission matrix (`permissions.py`) for nats-server.

- `server_authorization(passwords)`: the `authorization {}` block of a nats-server config
  (the test fixture and the embedded dev server), passwords inline in a 0600 file;
- `chart_values()`: the part of the official NATS chart's values that carries it
  (`config.merge.authorization` plus the server's password environment), where each
  password is the server-side reference `<< $NATS_PASSWORD_<IDENTITY> >>` to a Secret, so
  the committed `charts/triage/nats-values.yaml` holds no secret.

`python -m triage_contracts.natsconfig render` prints the chart part (JSON is YAML too);
`... render --into charts/triage/nats-values.yaml` rewrites its generated blocks.
"""

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .permissions import IDENTITIES, TEST_ADMIN, Identity, identities

# The Secret (in the NATS namespace) holding one `<identity>-password` key per identity.
SERVER_SECRET = "triage-nats-server"


def password_env(identity: str) -> str:
    return "NATS_PASSWORD_" + identity.upper().replace("-", "_")


def permissions(ident: Identity) -> dict[str, Any]:
    publish: dict[str, Any] = {"allow": list(ident.publish)}
    if ident.grants.deny_publish:
        publish["deny"] = list(ident.grants.deny_publish)
    return {"publish": publish, "subscribe": {"allow": list(ident.subscribe)}}


def users(passwords: Mapping[str, str], test_admin: str | None = None,
          teams: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One user per identity with its password (a literal or a `$VAR` reference)."""
    out = [{"user": i.name, "password": passwords[i.name], "permissions": permissions(i)}
           for i in identities(teams) if i.name in passwords]
    if test_admin is not None:  # tests only: the harness that publishes and inspects
        out.append({"user": TEST_ADMIN, "password": test_admin,
                    "permissions": {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}})
    return out


def server_authorization(passwords: Mapping[str, str], test_admin: str | None = None,
                         teams: Iterable[str] = ()) -> str:
    """An `authorization` block; JSON is valid nats-server config syntax."""
    listed = ",\n    ".join(json.dumps(u, sort_keys=True)
                            for u in users(passwords, test_admin, teams))
    return f"authorization {{\n  users: [\n    {listed}\n  ]\n}}\n"


def chart_values(teams: Iterable[str] = ()) -> dict[str, Any]:
    """`config.merge.authorization` and `container.env` of the official NATS chart (with
    the per-team consumers of a release whose config.teamScope is one of `teams`)."""
    chosen = list(IDENTITIES)
    refs = {i.name: f"<< ${password_env(i.name)} >>" for i in chosen}
    env = {password_env(i.name): {"valueFrom": {"secretKeyRef": {
        "name": SERVER_SECRET, "key": f"{i.name}-password"}}} for i in chosen}
    return {"config": {"merge": {"authorization": {"users": users(refs, teams=teams)}}},
            "container": {"env": env}}


def markdown_table() -> str:
    """The matrix as the table of docs/security-nats.md (a test keeps the copy current)."""
    def cell(items: Iterable[str]) -> str:
        return "<br>".join(f"`{item}`" for item in items) or "—"

    rows = ["| identity | who | publish (allow) | publish (deny) | subscribe |",
            "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{i.name}` | {i.description} | {cell(i.publish)} | "
             f"{cell(i.grants.deny_publish)} | {cell(i.subscribe)} |" for i in IDENTITIES]
    return "\n".join(rows) + "\n"


def rewrite(values_file: Path, teams: Iterable[str] = ()) -> None:
    """Replace the generated blocks of nats-values.yaml (`config.merge` and `container.env`)
    in place, keeping every hand-written line around them."""
    import yaml  # pyyaml: in the dev environment, not a runtime dependency of the contracts

    rendered = chart_values(teams)
    text = values_file.read_text()
    for start, end, block in (
        ("  merge:\n    authorization:", "\npodTemplate:", {"merge": rendered["config"]["merge"]}),
        ("  env:\n    NATS_PASSWORD_", "  merge:\n    resources:",
         {"env": rendered["container"]["env"]}),
    ):
        dumped = yaml.safe_dump(block, sort_keys=False, width=100, indent=2)
        indented = "".join(f"  {line}\n" for line in dumped.splitlines())
        a, b = text.index(start), text.index(end)
        text = text[:a] + indented + text[b:]
    values_file.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage_contracts.natsconfig")
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="print the NATS chart values of the permission "
                                           "matrix (JSON, which Helm reads as YAML)")
    render.add_argument("--team", action="append", default=[],
                        help="a Slack team id the release is scoped to (config.teamScope)")
    render.add_argument("--markdown", action="store_true",
                        help="the matrix as a Markdown table (docs/security-nats.md)")
    render.add_argument("--into", type=Path, help="rewrite the generated blocks of this "
                                                   "nats-values.yaml instead of printing")
    args = parser.parse_args(argv)
    if args.into:
        rewrite(args.into, args.team)
        return 0
    if args.markdown:
        sys.stdout.write(markdown_table())
        return 0
    sys.stdout.write(json.dumps(chart_values(args.team), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
