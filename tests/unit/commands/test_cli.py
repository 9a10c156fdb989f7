"""The command table: a run registers its own command only, --help still lists them all."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import pytest

from validator import cli, commands


def _subcommands(parser) -> list[str]:
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)


def test_the_table_names_every_command_module():
    registering = {info.name for info in pkgutil.iter_modules(commands.__path__)
                   if hasattr(importlib.import_module(f"validator.commands.{info.name}"),
                              "register")}
    assert set(cli.COMMANDS.values()) == registering


def test_the_full_parser_has_the_tables_commands_in_its_order():
    assert _subcommands(cli.build_parser()) == list(cli.COMMANDS)


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_a_command_parser_registers_that_command(command):
    assert command in _subcommands(cli.build_parser(command))


def _lists_every_command(text: str) -> bool:
    return all(f" {command} " in text or f"'{command}'" in text for command in cli.COMMANDS)


@pytest.mark.parametrize("argv", [["--help"], ["chek"]])
def test_help_and_a_mistyped_command_list_every_command(argv, capsys):
    with pytest.raises(SystemExit):
        cli.main(argv)
    shown = capsys.readouterr()
    assert _lists_every_command(shown.out + shown.err)


def test_no_command_prints_the_help_of_every_command(capsys):
    assert cli.main([]) == 2
    assert _lists_every_command(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [
    ["check", "a.jsonl", "--format", "json,junit", "--output", "out", "-q", "--jobs", "2"],
    ["check", "--select", "A5", "--select", "B1", "--fail-on", "warning"],
    ["explain", "A500"],
    ["merge", "a.json", "b.json", "--exit-zero"],
])
def test_a_command_alone_parses_as_the_whole_parser(argv):
    alone = cli.build_parser(argv[0]).parse_known_args(argv)
    whole = cli.build_parser().parse_known_args(argv)
    assert vars(alone[0]).keys() == vars(whole[0]).keys()
    assert {k: v for k, v in vars(alone[0]).items() if not callable(v)} == \
        {k: v for k, v in vars(whole[0]).items() if not callable(v)}
    assert alone[1] == whole[1]


def test_a_check_run_loads_only_what_it_uses(tmp_path):
    """Start-up: no other command, nor what only listen, a parallel run or a text report
    needs; with the catalogue and pyproject.toml cached (the first run), neither their
    parsers nor the catalogue's checks."""
    script = ("import sys; from validator.cli import main; main(['check', '--format', 'json', "
              "'--output', '-', '-q']); print(sorted(m for m in sys.modules if m.startswith("
              "('validator.commands.', 'validator.urls', 'validator.reporters.text', "
              "'validator.catalogue_checks', 'multiprocessing', 'hashlib', 'tomllib'))), "
              "file=sys.stderr)")
    env = dict(os.environ, WAZO_BUS_CACHE_DIR=str(tmp_path))
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120, env=env)
    loaded = done.stderr.strip().splitlines()[-1]
    assert loaded == "['validator.commands.check', 'validator.commands.common']", done.stderr


def _console(tmp_path, argv: list[str], before: str = "") -> subprocess.CompletedProcess:
    script = (f"import sys; from validator import cli\n{before}\nsys.argv = ['x', *{argv!r}]; "
              "cli.console()")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                          cwd=tmp_path, env=dict(os.environ, WAZO_BUS_CACHE_DIR=str(tmp_path)))


def test_the_console_exit_gives_mains_code_whole_output_and_atexit_hooks(tmp_path):
    """console() leaves without the interpreter's teardown: what main wrote, buffered, still
    goes out in full, its code is the process's, and atexit hooks (weakref finalizers) run."""
    mark = tmp_path / "hook"
    hook = f"import atexit; atexit.register(lambda: open({str(mark)!r}, 'w').write('ran'))"
    failing = _console(tmp_path, ["check", "--format", "json", "--output", "-", "-q"], hook)
    assert failing.returncode == 1  # the bundled example capture fails
    report = json.loads(failing.stdout)  # all of it: a cut report would not parse
    assert report["totals"]["messages"] > 0
    assert mark.read_text() == "ran"
    assert _console(tmp_path, ["check", str(tmp_path / "missing.jsonl")]).returncode == 2


def test_the_console_exit_waits_for_a_running_thread(tmp_path):
    """A thread still running when main returns: the normal exit, which lets it finish."""
    mark = tmp_path / "thread"
    thread = ("import threading, time; threading.Thread(target=lambda: (time.sleep(0.2), "
              f"open({str(mark)!r}, 'w').write('done'))).start()")
    done = _console(tmp_path, ["codes"], thread)
    assert done.returncode == 0
    assert mark.read_text() == "done"


def test_the_process_entry_freezes_what_the_imports_built_and_collects_after(tmp_path):
    """main() of the process's own command line: no collection while the imports run, their
    objects frozen, the collector on again for the command. main(argv) (a test, a caller)
    leaves the collector alone."""
    script = ("import gc, sys\nfrom validator import cli\nseen = []\nbuild = cli.build_parser\n"
              "cli.build_parser = lambda *a: (seen.append(gc.isenabled()), build(*a))[1]\n"
              "{call}\nprint(seen[0], gc.isenabled(), gc.get_freeze_count() > 0)")
    outputs = []
    for call in ("sys.argv = ['x', 'codes']; cli.main()", "cli.main(['codes'])"):
        done = subprocess.run([sys.executable, "-c", script.format(call=call)],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, WAZO_BUS_CACHE_DIR=str(tmp_path)))
        outputs.append(done.stdout.strip().splitlines()[-1])
    assert outputs == ["False True True", "True True False"]
