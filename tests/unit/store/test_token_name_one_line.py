"""A token's name is one line of printable text: it is its holder's actor name and default withdrawal ``by``."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.errors import ValidationError
from assetgrade.rest.auth import create_token
from assetgrade.store.repository import check_line
from assetgrade.workspace import Workspace


@pytest.mark.parametrize("name", ["ana\tb", "ana\nb", "ana\x1b[31m", "ana\u0085b"])
def test_a_token_name_with_a_control_character_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    ws = Workspace.init(tmp_path / "w")
    with ws.session() as s, pytest.raises(ValidationError, match=r"control character U\+00") as err:
        create_token(s, name=name, role="admin")
    assert err.value.where == "name"
    with ws.session(readonly=True) as s:  # nothing stored, no audit event
        from sqlalchemy import func, select

        from assetgrade.store.auth_schema import ApiToken

        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0
    ws.close()


def test_an_accepted_token_name_can_sign_a_withdrawal(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    with ws.session() as s:
        _, row = create_token(s, name="  Ana Müller (QA) ", role="admin")
    assert row.name == "Ana Müller (QA)"
    assert check_line(row.name, "by", limit=200, what="name of who withdraws") == row.name
    ws.close()
