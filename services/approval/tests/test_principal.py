"""The pure rules of identity and approver lists, with plain values: claims to a
principal, scopes, and how APPROVERS merges with the Workspace directory."""

import pytest
from triage_approval import approvers
from triage_approval.principal import Scope, Via, from_claims
from triage_approval.rules import NotAuthenticated
from triage_contracts.workspaces import WorkspaceDirectory

USER, TEAM = "https://slack.com/user_id", "https://slack.com/team_id"


def entry(team: str, *users: str) -> WorkspaceDirectory:
    return WorkspaceDirectory(team_id=team, workspace=team.lower(), approvers=list(users))


def test_claims_name_the_person_and_their_teams() -> None:
    one = from_claims({USER: "U1", TEAM: "T1"}, USER, TEAM, Via.OIDC)
    assert (one.user_id, one.teams, one.via) == ("U1", frozenset({"T1"}), Via.OIDC)
    grid = from_claims({USER: "W1", TEAM: ["T1", "T2"]}, USER, TEAM, Via.PROXY)
    assert grid.teams == frozenset({"T1", "T2"})
    assert from_claims({USER: "U1"}, USER, TEAM, Via.PROXY).teams is None


@pytest.mark.parametrize("claims", [
    {}, {USER: ""}, {USER: 42}, {USER: "U1 U2"}, {USER: "U1\n"}, {USER: "x" * 200},
    {USER: "U1", TEAM: 7}, {USER: "U1", TEAM: ["T1", "T.>"]}, {USER: "U1", TEAM: {"a": 1}},
])
def test_unusable_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(NotAuthenticated):
        from_claims(claims, USER, TEAM, Via.OIDC)


def test_scopes_only_ever_narrow() -> None:
    mine = Scope(frozenset({"T1", "T2"}))
    assert mine.narrowed("T1") == Scope(frozenset({"T1"}))
    assert mine.narrowed("T9") == Scope() and not Scope().allows("T1")
    assert mine.narrowed(None) == mine
    assert Scope(every=True).narrowed("T9").allows("T9")


def test_approvers_are_the_union_of_both_sources() -> None:
    static = approvers.parse("U_ADMIN, T1:U_ONE ,,T2:U_TWO, :bad, T3:")
    assert static.everywhere == frozenset({"U_ADMIN"})
    assert approvers.approvers_for("T1", entry("T1", "U_WS"), static) == {
        "U_ADMIN", "U_ONE", "U_WS"}
    assert approvers.approvers_for("T2", None, static) == {"U_ADMIN", "U_TWO"}
    assert approvers.approvers_for("T9", None, static) == {"U_ADMIN"}


def test_the_teams_a_person_approves_for() -> None:
    static = approvers.parse("U_ADMIN,T1:U_ONE")
    entries = [entry("T2", "U_ONE", "U_WS"), entry("T3", "U_WS")]
    assert approvers.scope_of("U_ONE", entries, static) == Scope(frozenset({"T1", "T2"}))
    assert approvers.scope_of("U_WS", entries, static) == Scope(frozenset({"T2", "T3"}))
    assert approvers.scope_of("U_ADMIN", entries, static).every
    assert approvers.scope_of("U_NOBODY", entries, static) == Scope()
    assert approvers.everyone(entries, static) == ["U_ADMIN", "U_ONE", "U_WS"]
