"""The vault's envelope on its own: what opens, and everything that must not."""

import base64
import os

import pytest
from pydantic import SecretStr
from triage_ingress.vault import (
    Context,
    MasterKeys,
    PlaintextRefused,
    Tampered,
    UnknownKey,
    Vault,
    key_id_of,
    new_key_entry,
)

TOKEN = "xoxb-4242424242-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
TEAM_A = Context("123.456", None, "T0A", "bot_token")


def keys(*entries: str) -> MasterKeys:
    return MasterKeys.parse(SecretStr(",".join(entries)))


K1, K2 = new_key_entry("k1"), new_key_entry("k2")


def vault(*entries: str, production: bool = True) -> Vault:
    return Vault(keys(*entries), allow_plaintext=not production)


def test_a_sealed_value_opens_in_its_own_context_only() -> None:
    sealed = vault(K1).seal(TOKEN, TEAM_A)
    assert TOKEN not in sealed and key_id_of(sealed) == "k1"
    assert vault(K1).open(sealed, TEAM_A) == TOKEN
    # A fresh data key and nonce each time: equal tokens never give equal ciphertexts.
    assert vault(K1).seal(TOKEN, TEAM_A) != sealed


@pytest.mark.parametrize("other", [
    Context("123.456", None, "T0B", "bot_token"),  # another team
    Context("123.456", "E0A", "T0A", "bot_token"),  # another enterprise
    Context("999.999", None, "T0A", "bot_token"),  # another app
    Context("123.456", None, "T0A", "user_token"),  # another field
])
def test_a_copy_to_another_record_is_refused(other: Context) -> None:
    sealed = vault(K1).seal(TOKEN, TEAM_A)
    with pytest.raises(Tampered, match="copied from another record"):
        vault(K1).open(sealed, other)


def flip(value: str, part: int, index: int) -> str:
    fields = value.split(":")
    raw = bytearray(base64.urlsafe_b64decode(fields[part] + "=" * (-len(fields[part]) % 4)))
    raw[index] ^= 0x01
    fields[part] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return ":".join(fields)


@pytest.mark.parametrize("part", [3, 4])  # the wrapped data key, the ciphertext
@pytest.mark.parametrize("index", [0, 12, -1])  # nonce, body, tag
def test_any_flipped_bit_is_refused(part: int, index: int) -> None:
    sealed = vault(K1).seal(TOKEN, TEAM_A)
    with pytest.raises(Tampered):
        vault(K1).open(flip(sealed, part, index), TEAM_A)


@pytest.mark.parametrize("mangled", ["vault:1:k1:abc", "vault:1:k1:!!:??", "vault:1:"])
def test_malformed_values_are_refused(mangled: str) -> None:
    with pytest.raises(Tampered, match="malformed"):
        vault(K1).open(mangled, TEAM_A)


def test_wrong_master_key_gives_a_clear_error() -> None:
    sealed = vault(K1).seal(TOKEN, TEAM_A)
    impostor = new_key_entry("k1")  # same id, other key material
    with pytest.raises(Tampered, match="does not open with master key 'k1'"):
        vault(impostor).open(sealed, TEAM_A)
    with pytest.raises(UnknownKey, match=r"no master key with id 'k1' .*holds k2"):
        vault(K2).open(sealed, TEAM_A)


def test_rotation_opens_old_values_and_seals_under_the_first_key() -> None:
    old = vault(K1).seal(TOKEN, TEAM_A)
    rotated = vault(K2, K1)
    resealed = rotated.reseal(old, TEAM_A)
    assert key_id_of(resealed) == "k2"
    assert vault(K2).open(resealed, TEAM_A) == TOKEN  # k1 is no longer needed


def test_plaintext_is_read_in_development_only() -> None:
    assert vault(K1, production=False).open(TOKEN, TEAM_A) == TOKEN
    with pytest.raises(PlaintextRefused, match="vault reencrypt") as refused:
        vault(K1).open(TOKEN, TEAM_A)
    assert TOKEN not in str(refused.value)
    assert key_id_of(vault(K1).reseal(TOKEN, TEAM_A)) == "k1"  # the migration path


@pytest.mark.parametrize("value,message", [
    ("", "no key"),
    ("k1", "<key id>:<base64 key>"),
    ("k1:not base64!", "key 'k1' is not base64"),
    (f"k1:{base64.b64encode(os.urandom(16)).decode()}", "must be 32 bytes, not 16"),
    (f"{K1},{K1}", "'k1' appears twice"),
    (f"bad id:{K1.split(':')[1]}", "a key id must be"),
])
def test_bad_master_keys_are_refused_without_echoing_them(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        keys(value)
    secret = value.partition(":")[2]
    assert not secret or secret not in str(refused.value)


def test_key_material_never_shows_in_reprs() -> None:
    parsed = keys(K2, K1)
    material = [entry.split(":")[1] for entry in (K1, K2)]
    shown = repr(parsed) + repr(vault(K2, K1).keys)
    assert "k2" in shown and not any(m in shown for m in material)
    assert (parsed.active, parsed.ids) == ("k2", ["k2", "k1"])
