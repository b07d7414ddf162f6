"""Proxy JWTs against the stand-in's real JWKS endpoint: both algorithms verify, a rotated
key is picked up by refetching the JWKS (bounded: forged key ids do not cause a fetch
each), and a JWKS that cannot be fetched is a 503, never a pass."""

from pathlib import Path

import httpx
from joserfc.jwk import RSAKey

from .conftest import PROXY_AUDIENCE, TEAM, Service, eventually, make_settings, serve, stop
from .idp import SLACK_TEAM, SLACK_USER, IdP

ALICE = {SLACK_USER: "U_ALICE", SLACK_TEAM: TEAM}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rs256_and_es256_verify_and_name_the_person(service: Service) -> None:
    for alg in ("RS256", "ES256"):
        token = service.idp.mint(ALICE, alg=alg, audience=PROXY_AUDIENCE)
        me = await service.http.get("/auth/session", headers=bearer(token))
        assert me.json()["user_id"] == "U_ALICE" and me.json()["via"] == "proxy", alg
        assert me.json()["teams"] == [TEAM]


async def test_a_rotated_key_is_fetched_once_forged_kids_are_not(service: Service) -> None:
    idp = service.idp
    first = idp.mint(ALICE, audience=PROXY_AUDIENCE)
    assert (await service.http.get("/api/approvals", headers=bearer(first))).status_code == 200
    fetched = idp.jwks_fetches
    idp.rotate()
    rotated = idp.mint(ALICE, audience=PROXY_AUDIENCE)

    async def accepted() -> bool:
        resp = await service.http.get("/api/approvals", headers=bearer(rotated))
        return resp.status_code == 200
    await eventually(accepted)
    assert idp.jwks_fetches == fetched + 1
    # A burst of tokens naming unknown key ids costs no JWKS fetch each.
    for n in range(30):
        rogue = RSAKey.generate_key(2048, parameters={"kid": f"rogue-{n}", "alg": "RS256"})
        forged = idp.mint(ALICE, audience=PROXY_AUDIENCE, key=rogue)
        assert (await service.http.get("/api/approvals", headers=bearer(forged))
                ).status_code == 401
    assert idp.jwks_fetches <= fetched + 3


async def test_unreachable_jwks_is_503_never_a_pass(nats_url: str, tmp_path: Path,
                                                    idp: IdP) -> None:
    settings = make_settings(nats_url, tmp_path, idp.issuer,
                             proxy_jwks_url=f"{idp.issuer}/no-such-jwks")
    server, task, url = await serve(settings)
    try:
        token = idp.mint(ALICE, audience=PROXY_AUDIENCE)
        async with httpx.AsyncClient(base_url=url) as http:
            resp = await http.get("/api/approvals", headers=bearer(token))
            assert resp.status_code == 503 and resp.headers["retry-after"]
            page = await http.get("/", headers=bearer(token))
            assert page.status_code == 503
    finally:
        await stop(server, task)
