"""Password hashes: salted, self-describing, and anything unreadable is simply a wrong password."""

from __future__ import annotations

import pytest

from reference_services.users.passwords import DEMO_ITERATIONS, demo_password, hash_password, verify_password


def test_a_hash_checks_its_password_and_no_other() -> None:
    stored = hash_password("pw-3", DEMO_ITERATIONS)
    assert stored.startswith(f"pbkdf2_sha256${DEMO_ITERATIONS}$")
    assert "pw-3" not in stored
    assert verify_password("pw-3", stored)
    assert not verify_password("pw-4", stored)
    assert hash_password("pw-3", DEMO_ITERATIONS) != stored  # salted: same password, other hash
    assert demo_password(3) == "pw-3"


@pytest.mark.parametrize(
    "stored",
    [None, "", "plain-text", "md5$1$AA==$AA==", "pbkdf2_sha256$0$AA==$AA==", "pbkdf2_sha256$x$AA==$AA==",
     "pbkdf2_sha256$10$not base64$AA==", "pbkdf2_sha256$99999999999$AA==$AA=="],
)  # fmt: skip
def test_an_unreadable_hash_is_a_wrong_password(stored: str | None) -> None:
    assert verify_password("pw-1", stored) is False
