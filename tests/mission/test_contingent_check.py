"""A contingent named where the mission has none is refused the same way everywhere: the
command or setting, the field, the name given and the mission's contingents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasefire.errors import InputError
from ceasefire.mission import load_mission


def test_the_mission_names_the_file_field_and_choices() -> None:
    mission = load_mission("karabakh-2020")
    mission.check_contingent("RU", "settings", "cot_tcp_contingent")  # one of them: nothing
    with pytest.raises(InputError) as refused:
        mission.check_contingent("XX", "settings", "cot_tcp_contingent")
    problem = refused.value.problems[0]
    assert (problem.file, problem.field, problem.record) == ("settings", "cot_tcp_contingent", "XX")
    assert "RU, TR" in problem.reason


@pytest.mark.parametrize(
    "command",
    [("witness", "init", "XX", "--dir"), ("certs", "issue", "XX", "--dir"), ("node", "--dir")],
)
def test_each_command_refuses_an_unknown_contingent(
    cli, command: tuple[str, ...], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    args = (*command, str(tmp_path / "d"))
    if command[0] == "node":
        args = (*args, "init", "XX")
    result = cli(*args)
    assert result.code == 1, result.err
    assert "XX" in result.err and "RU, TR" in result.err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())
