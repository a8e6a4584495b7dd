import pytest

from naspredict.cli import main

COMMANDS = ["spaces", "benchmarks", "show", "evaluate", "search", "runs", "export", "train", "profile"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_subcommand_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    assert "usage: naspredict " + cmd in capsys.readouterr().out


def test_spaces_and_show(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    assert "15,625" in out and "26,206" in out and "nb101" in out and "darts" in out
    assert main(["show", "nb201-cifar10", "--metric", "baseline_accuracy", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "94.0664" in out and "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|" in out


def test_bad_input_exits_2(capsys):
    assert main(["show", "nb201-cifar10", "--metric", "nope"]) == 2
    assert "no metric 'nope'" in capsys.readouterr().err
    assert main(["show", "not-a-table"]) == 2
