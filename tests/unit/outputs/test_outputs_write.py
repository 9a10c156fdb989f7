"""Writing reports: never replacing a symlink, a FIFO or a hard-linked file; the user's
umask; no folder created unasked; every failure one line and exit 2."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from validator.errors import UsageError
from validator.outputs import check_output_writable, write_atomic


def run(*args, cwd=None, stdout=subprocess.PIPE, umask=None):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "validator", *args], stdout=stdout,
                          stderr=subprocess.PIPE, cwd=cwd, timeout=120, env=env,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def one_line_exit_2(proc, needle: bytes):
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert b"Traceback" not in proc.stderr


def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    proc = run("check", "--format", "json", "--output", str(link))
    assert proc.returncode == 1, proc.stderr
    assert link.is_symlink()
    assert json.loads(target.read_text())["totals"]["messages"] == 21


@pytest.mark.parametrize("to_file", [False, True])
def test_a_symlink_to_the_process_stdout_writes_to_stdout(tmp_path, to_file):
    link = tmp_path / "out.json"  # what /dev/stdout is, without touching /dev
    link.symlink_to("/proc/self/fd/1")
    captured = tmp_path / "stdout.txt"
    with open(captured, "wb") as f:
        proc = run("check", "--format", "json", "--output", str(link),
                   stdout=f if to_file else subprocess.PIPE)
    out = captured.read_bytes() if to_file else proc.stdout
    assert link.is_symlink()
    # stdout holds the JSON alone (the text summary went to stderr), not two writers' mix
    assert json.loads(out)["totals"]["messages"] == 21
    assert b"FAILED (exit 1)" in proc.stderr


def test_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_atomic(fifo, "report\n")
    reader.join(10)
    assert got == [b"report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_hard_linked_file_is_rewritten_in_place(tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("old")
    second = tmp_path / "b.txt"
    os.link(first, second)
    write_atomic(first, "new")
    assert second.read_text() == "new" and os.stat(first).st_ino == os.stat(second).st_ino


def test_a_regular_file_is_replaced_atomically_keeping_its_mode(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("old")
    path.chmod(0o604)
    inode = os.stat(path).st_ino
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert os.stat(path).st_ino != inode  # renamed over: a reader never sees half a report
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]  # no temporary left


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_report_gets_the_users_umask(tmp_path, umask, mode):
    path = tmp_path / "r.json"
    proc = run("check", "--format", "json", "--output", str(path), umask=umask)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_a_missing_folder_is_an_error_and_is_not_created(tmp_path):
    proc = run("check", "--format", "json", "--output", str(tmp_path / "no" / "dir" / "x.json"))
    one_line_exit_2(proc, b"does not exist")
    assert not (tmp_path / "no").exists()


def test_a_file_as_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    proc = run("check", "--format", "json", "--output", str(tmp_path / "file" / "x"))
    one_line_exit_2(proc, b"is not a folder")


def test_an_unwritable_folder_is_one_line():
    proc = run("check", "--format", "json", "--output", "/proc/x.json")
    one_line_exit_2(proc, b"--output /proc/x.json")


@pytest.mark.parametrize("fmt", ["text", "ndjson", "json"])
def test_a_full_stdout_is_one_line_exit_2(fmt):
    with open("/dev/full", "wb") as full:
        proc = run("check", "--format", fmt, "--output", "-", stdout=full)
    one_line_exit_2(proc, b"No space left on device")


def test_check_output_writable_refuses_a_folder(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        check_output_writable(tmp_path)


def test_several_formats_go_to_a_named_folder_created_with_a_line(tmp_path):
    out = tmp_path / "out"
    proc = run("check", "--format", "junit,markdown,json,text,ndjson", "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json", "report.junit.xml", "report.md", "report.ndjson", "report.txt"]
    assert proc.stderr.decode().count("created the folder") == 1
    assert json.loads((out / "report.json").read_text())["totals"]["messages"] == 21
    assert len((out / "report.ndjson").read_text().splitlines()) == 21
    assert "FAILED (exit 1)" in (out / "report.txt").read_text()
    assert b"junit report written to" in proc.stdout and b"FAILED (exit 1)" in proc.stdout


def test_several_formats_in_a_folder_whose_parent_is_missing_is_an_error(tmp_path):
    proc = run("check", "--format", "junit,markdown", "--output", str(tmp_path / "a" / "b"))
    one_line_exit_2(proc, b"does not exist")
    assert not (tmp_path / "a").exists()


def test_several_formats_cannot_share_stdout():
    one_line_exit_2(run("check", "--format", "json,junit", "--output", "-"), b"several formats")


def test_the_default_reports_folder_is_announced(tmp_path):
    proc = run("check", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "reports" / "wazo-bus-report.json").is_file()
    assert b"created the folder reports" in proc.stderr


def test_output_dash_is_stdout():
    proc = run("check", "--format", "json", "--output", "-")
    assert json.loads(proc.stdout)["exit_code"] == 1


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    check_output_writable(link)
    write_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "x"


def test_a_read_only_target_is_refused_before_the_run(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    target = tmp_path / "t.json"
    target.write_text("")
    target.chmod(0o444)
    link = tmp_path / "l.json"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="not writable"):
        check_output_writable(link)
