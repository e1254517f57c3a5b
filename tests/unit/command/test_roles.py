"""Role rules that do not need a request: account creation and socket rooms."""

from __future__ import annotations

import pytest

from command.auth import UserError, create_user
from command.live import rooms_for
from command.models import User


@pytest.mark.parametrize("role,county,message", [
    ("pilot", None, "unknown role"),
    ("county_operator", None, "bound to a county"),
    ("commander", "lishi", "only county_operator"),
])
def test_create_user_rejects_bad_role_or_county(db_session, role, county, message):
    with pytest.raises(UserError, match=message):
        create_user(db_session, "x", "long-enough-pw", role, county=county)


def test_unknown_county_and_short_password(db_session):
    with pytest.raises(UserError, match="unknown county"):
        create_user(db_session, "x", "long-enough-pw", "county_operator", county="paris",
                    known_counties={"lishi"})
    with pytest.raises(UserError, match="at least 8"):
        create_user(db_session, "x", "short", "forecaster")


def test_password_is_hashed_with_argon2(db_session):
    user = create_user(db_session, "f", "long-enough-pw", "forecaster")
    assert user.password_hash.startswith("$argon2")
    assert "long-enough-pw" not in user.password_hash


def test_county_operator_rooms_exclude_the_command_center_room():
    op = User(username="lishi", role="county_operator", county="lishi", password_hash="")
    cmd = User(username="c", role="commander", password_hash="")
    assert rooms_for(op) == {"role:county_operator", "county:lishi"}
    assert "all" in rooms_for(cmd)
