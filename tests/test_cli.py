import pytest

from naspredict.cli import main

import argparse

from naspredict.cli import build_parser

EXPECTED = {"spaces", "benchmarks", "show", "evaluate", "search", "runs", "export", "train", "profile",
            "darts", "fit", "predict"}


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


COMMANDS = _commands()


def test_the_documented_commands_exist():
    assert EXPECTED <= set(COMMANDS)


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


def test_several_targets_need_a_direction_each(capsys, tmp_path):
    """Without this, -t valid_perf,latency -s mobo maximised the latency (a silent wrong result)."""
    base = ["search", "-b", "nbgraph-cora", "-s", "mobo", "-n", "2", "--store", str(tmp_path / "r.db")]
    assert main([*base, "-t", "valid_perf,latency"]) == 2
    assert "need a direction each: -d max,max" in capsys.readouterr().err
    assert main([*base, "-t", "valid_perf,latency", "-d", "min"]) == 2
    assert "1 direction(s) for 2 target(s)" in capsys.readouterr().err
    assert main([*base, "-t", "valid_perf,latency", "-d", "max,lowest"]) == 2
    assert "max or min per target" in capsys.readouterr().err
    assert main([*base, "-t", "valid_perf,valid_perf", "-d", "max,max"]) == 2
    assert "names a metric twice" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()  # refused before a store was created


def test_version_is_the_installed_one_and_python_m_works():
    import subprocess
    import sys
    from importlib.metadata import version

    import naspredict
    assert naspredict.__version__ == version("naspredict")
    out = subprocess.run([sys.executable, "-m", "naspredict", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"naspredict {naspredict.__version__}"
    bad = subprocess.run([sys.executable, "-m", "naspredict", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
