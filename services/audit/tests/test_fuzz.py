"""Property-based fuzzing of the auditors' HTTP API (paths, query parameters, credentials)
through the app's real lifespan and a real database: never a 5xx, never a leak of another
caller's data without the token."""

from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_api import TOKEN, client, populated  # noqa: F401  (fixtures)

SEGMENT = st.one_of(st.sampled_from(["T1", "T2", "r0", "r1", "..", "%2e%2e", "T1.x"]),
                    st.text(max_size=30))
QUERY = st.dictionaries(st.sampled_from(["limit", "after_seq", "run_id"]),
                        st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=20)),
                        max_size=3)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
AUTH = st.one_of(st.just(f"Bearer {TOKEN}"), st.just(""), st.just("Bearer "), HEADER_TEXT,
                 HEADER_TEXT.map(lambda t: f"Bearer {t}"), st.just(f"bearer {TOKEN}x"))
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(team=SEGMENT, run=SEGMENT, query=QUERY, auth=AUTH,
       shape=st.sampled_from(["/audit/teams", "/audit/{t}/events", "/audit/{t}/verify",
                              "/audit/{t}/runs/{r}", "/audit/verify"]))
async def test_the_api_never_fails_with_5xx(client: httpx.AsyncClient, populated: Any,  # noqa: F811
                                             team: str, run: str, query: dict[str, str],
                                             auth: str, shape: str) -> None:
    path = shape.format(t=quote(team, safe=""), r=quote(run, safe=""))
    resp = await client.get(path, params=query, headers={"Authorization": auth})
    assert resp.status_code < 500, (path, query, resp.status_code, resp.text[:300])
    if auth != f"Bearer {TOKEN}":
        assert resp.status_code in (401, 404), (path, resp.status_code)  # nothing without it
