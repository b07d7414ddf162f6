"""Git references the way GitHub's API resolves them: a full or abbreviated SHA, a branch
(the default branch or a pull request's head branch), HEAD, each optionally followed by
`~N` or `^`; and the ancestry walk behind commit lists and comparisons. Pure."""

import re

from ..world.model import Commit, Repo

_SUFFIX = re.compile(r"^(.*?)((?:~\d*|\^)*)$")


def _base(repo: Repo, name: str) -> Commit | None:
    if name in ("HEAD", repo.default_branch):
        return repo.commits[0] if repo.commits else None
    if name in repo.heads:
        return repo.heads[name]
    if re.fullmatch(r"[0-9a-f]{4,40}", name):
        hits = [c for c in [*repo.commits, *repo.heads.values()] if c.sha.startswith(name)]
        return hits[0] if len(hits) == 1 else None
    return None


def resolve(repo: Repo, ref: str) -> Commit | None:
    match = _SUFFIX.match(ref)
    assert match is not None  # the pattern matches every string
    commit = _base(repo, match.group(1))
    for step in re.findall(r"~\d*|\^", match.group(2)):
        count = int(step[1:] or 1) if step.startswith("~") else 1
        for _ in range(count):
            commit = repo.commit(commit.parent) if commit and commit.parent else None
    return commit


def ancestry(repo: Repo, commit: Commit) -> list[Commit]:
    """`commit` and its ancestors, newest first (history here has one parent per commit)."""
    chain: list[Commit] = []
    current: Commit | None = commit
    while current is not None:
        chain.append(current)
        current = repo.commit(current.parent) if current.parent else None
    return chain


def compare(repo: Repo, base: Commit, head: Commit) -> tuple[str, list[Commit], int, Commit]:
    """GitHub's comparison: (status, commits base..head oldest first, behind_by,
    merge base)."""
    head_line, base_line = ancestry(repo, head), ancestry(repo, base)
    base_shas = {c.sha for c in base_line}
    merge_base = next((c for c in head_line if c.sha in base_shas), base)
    ahead = [c for c in head_line if c.sha not in base_shas]
    head_shas = {c.sha for c in head_line}
    behind = sum(1 for c in base_line if c.sha not in head_shas)
    status = ("identical" if not ahead and not behind else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    return status, list(reversed(ahead)), behind, merge_base
