"""Where reports go, and writing them so that a user can trust the result.

- Several formats from one run (`--format junit,markdown`): with several, `--output` names
  a folder holding `report.<ext>` per format.
- A report replaces a regular file atomically (temporary file, then rename) with the
  file's mode, or the user's umask for a new file. A symlink, a device, a FIFO or a file
  with several hard links is written through, never replaced (`--output /dev/stdout`).
- No folder is created that the user did not name; the one that is (the folder of
  several formats, or the default `reports/`) is announced on stderr.
- A report that cannot be written (a missing or read-only folder, a full disk, stdout on
  /dev/full) is one line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from .errors import UsageError
from .reporters import EXTENSIONS, FORMATS, RENDERERS

PROG = "wazo-bus-validator"
DEFAULT_REPORT_DIR = Path("reports")
DEFAULT_STEM = "wazo-bus-report"
STDOUT_FORMATS = ("text", "ndjson")  # what goes to stdout when no --output is given


class ReportTarget(NamedTuple):  # not a frozen dataclass: cheaper to define at start-up
    format: str
    path: Path | None  # None: standard output


# -- the --format option -----------------------------------------------------------------
def parse_formats(text: str) -> tuple[str, ...]:
    """`junit,markdown` -> ("junit", "markdown"); an unknown one is an argparse error."""
    out: list[str] = []
    for name in (part.strip().lower() for part in text.split(",")):
        if not name:
            continue
        if name not in FORMATS:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {name!r} (choose from {', '.join(FORMATS)}; several "
                "comma-separated)")
        if name not in out:
            out.append(name)
    if not out:
        raise argparse.ArgumentTypeError("no format given")
    return tuple(out)


def primary_format(formats) -> str:
    """The one format a command streams while it runs: ndjson if asked for, else the first."""
    return "ndjson" if "ndjson" in formats else formats[0]


class FormatsAction(argparse.Action):
    """Stores `formats` (all of them) and `format` (the primary one, what streams). Not a
    `type=`: argparse would convert the string default too."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            formats = parse_formats(values)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument {option_string}: {exc}")
        namespace.formats = formats
        setattr(namespace, self.dest, primary_format(formats))


def formats_of(args) -> tuple[str, ...]:
    return tuple(getattr(args, "formats", None) or (args.format,))


# -- where each report goes --------------------------------------------------------------
def _names_folder(output: str, formats) -> bool:
    return len(formats) > 1 or output.endswith(os.sep) or Path(output).is_dir()


def report_targets(args) -> list[ReportTarget]:
    formats = formats_of(args)
    output = getattr(args, "output", None)
    if output == "-":
        if len(formats) > 1:
            raise UsageError("--output -: several formats need a folder for --output")
        return [ReportTarget(formats[0], None)]
    if output:
        if _names_folder(output, formats):
            folder = Path(output)
            return [ReportTarget(f, folder / f"report.{EXTENSIONS[f]}") for f in formats]
        path = Path(output)
        return [ReportTarget(formats[0], None if is_our_stdout(path) else path)]
    targets = []
    on_stdout = [f for f in formats if f in STDOUT_FORMATS]
    for f in formats:
        # ndjson and text both without --output: ndjson takes stdout, text goes to stderr.
        if f in STDOUT_FORMATS and (f == "ndjson" or len(on_stdout) == 1):
            targets.append(ReportTarget(f, None))
        elif f == "text":
            continue
        else:
            targets.append(ReportTarget(f, DEFAULT_REPORT_DIR / f"{DEFAULT_STEM}.{EXTENSIONS[f]}"))
    return targets


def is_our_stdout(path: Path) -> bool:
    """`--output /dev/stdout` (or any name of this process's stdout) is stdout: written
    through a second descriptor, it would overwrite what stdout itself writes."""
    try:
        st, out = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino)


def report_path(args) -> Path | None:
    """Where the primary format (args.format, what streams) goes; None for stdout."""
    for target in report_targets(args):
        if target.format == args.format:
            return target.path
    return None


def prepare_outputs(args) -> list[ReportTarget]:
    """Check, before the run, that every report can be written; create the one folder the
    user named for several formats (or the default reports/), saying so."""
    targets = report_targets(args)
    folders = {t.path.parent for t in targets if t.path is not None}
    for folder in sorted(folders):
        if not folder.exists() and not folder.is_symlink() and _may_create(args, folder):
            if not folder.parent.is_dir():
                raise UsageError(f"--output {folder}: the folder {folder.parent} does not exist "
                                 "(only the last folder is created for you)")
            try:
                folder.mkdir()
            except OSError as exc:
                raise UsageError(f"--output {folder}: cannot create the folder: "
                                 f"{exc.strerror or exc}") from None
            sys.stderr.write(f"{PROG}: created the folder {folder} for the reports\n")
    for target in targets:
        check_output_writable(target.path)
    return targets


def _may_create(args, folder: Path) -> bool:
    output = getattr(args, "output", None)
    if not output:
        return folder == DEFAULT_REPORT_DIR
    return _names_folder(output, formats_of(args)) and folder == Path(output)


def check_output_writable(path: Path | None) -> None:
    """One line and exit 2 now rather than a lost report after the run."""
    if path is None:
        return
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISLNK(st.st_mode) and not path.exists():
        check_output_writable(Path(os.path.realpath(path)))  # dangling: the target is made
        return
    if st is not None and not _replaceable(st):
        if path.is_dir():
            raise UsageError(f"--output {path}: is a folder")
        if not os.access(path, os.W_OK):
            raise UsageError(f"--output {path}: not writable")
        return  # a symlink, device or FIFO: written through
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"--output {path}: is a folder")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"--output {path}: the folder {parent} does not exist "
                         "(it is not created for you)")
    if not parent.is_dir():
        raise UsageError(f"--output {path}: {parent} is not a folder")
    try:  # a real probe: os.access says yes in /proc as root
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write in the folder {parent}: "
                         f"{exc.strerror or exc}") from None


# -- writing -----------------------------------------------------------------------------
def _replaceable(st: os.stat_result) -> bool:
    """Only a regular file with one name may be replaced by a rename."""
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def user_umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no other way to read it; set back at once
    os.umask(mask)
    return mask


def write_atomic(path, data: str | bytes) -> None:
    """Replace a regular file atomically, write through anything else (see the module)."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise UsageError(f"cannot write {path}: is a folder")
        if st is not None and not _replaceable(st):
            with open(path, "wb") as f:
                f.write(raw)
            return
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~user_umask()
        _replace(path, raw, mode)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _replace(path: Path, raw: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_stdout(text: str | bytes) -> None:
    """Print a report on stdout; a full disk or closed stdout is one line and exit 2."""
    try:
        if type(text) is bytes:
            buffer = getattr(sys.stdout, "buffer", None)
            if buffer is not None:
                sys.stdout.flush()  # what the text layer holds goes first
                buffer.write(text)
                buffer.flush()
                return
            text = text.decode("utf-8")
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _silence_stdout()
        raise UsageError(f"cannot write the report to stdout: {exc.strerror or exc}") from None


def write_document(path: str | None, data: bytes) -> None:
    """A generated document (examples, docs, AsyncAPI, a diff) to --output or stdout: one
    line and exit 2 when it cannot be written."""
    if path in (None, "-"):
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            _silence_stdout()
            raise UsageError(f"cannot write to stdout: {exc.strerror or exc}") from None
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--output {path}: is a directory")
    check_output_writable(target)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None


def write_or_check(output: str | None, check: str | None, text: str, regenerate: str) -> int:
    """`--check FILE`: 0 when FILE holds `text`, else 1 with the command that regenerates it
    (`regenerate`, FILE appended); without it, `text` is written to --output."""
    if check is None:
        write_document(output, text.encode("utf-8"))
        return 0
    path = Path(check)
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--check {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if current != text:
        print(f"{path}: stale: run `{regenerate} --output {path}`")
        return 1
    print(f"{path}: up to date")
    return 0


def _silence_stdout() -> None:
    """After a failed write, the interpreter's last flush would print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class StreamOut:
    """A binary stream for a report written while the run goes (ndjson): a failed write
    is one line and exit 2 (a UsageError), never a traceback."""

    def __init__(self, path: Path | None):
        self.path = path
        try:
            self.stream = open(path, "wb") if path is not None else sys.stdout.buffer
        except OSError as exc:
            raise UsageError(f"--output {path}: {exc.strerror or exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self._failed(exc)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            self._failed(exc)

    def close(self) -> None:
        if self.path is not None:
            self.stream.close()
        else:
            self.flush()

    def _failed(self, exc: OSError):
        if self.path is None:
            _silence_stdout()
        where = "stdout" if self.path is None else str(self.path)
        raise UsageError(f"cannot write the ndjson report to {where}: "
                         f"{exc.strerror or exc}") from None


# -- emitting the reports at the end of a run --------------------------------------------
def use_color(args, stream) -> bool:
    """--color always|never; auto (the default): the stream is a terminal and NO_COLOR is
    unset or empty (https://no-color.org: an option given on the command line wins)."""
    choice = getattr(args, "color", None) or "auto"
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def render_text(args, summary, stream) -> str:
    """The text report as this run's options want it: statistics only, quiet, coloured."""
    from .reporters import text as text_report  # a run with no text report never loads it

    color = use_color(args, stream)
    if getattr(args, "statistics", False):
        return text_report.statistics(summary, color=color)
    if getattr(args, "quiet", False):
        return text_report.verdict_line(summary, color=color) + "\n"
    return text_report.render(summary, color=color,
                              max_failures=getattr(args, "max_failures", text_report.SHOWN_FAILING))


def emit_reports(args, summary) -> None:
    """Write every asked-for format where it goes; the text summary on stdout besides
    (on stderr when ndjson holds stdout), unless -q."""
    settings_record = getattr(args, "settings_record", None)
    if settings_record is not None:
        summary.run["settings"] = settings_record(args)
    with summary.reporting():
        _emit(args, summary)


def _emit(args, summary) -> None:
    targets = report_targets(args)
    quiet = getattr(args, "quiet", False)
    written = []
    text_on_stdout = False
    for target in targets:
        if target.format == "ndjson":
            continue  # streamed message by message while the run went
        if target.path is None:
            text_on_stdout = text_on_stdout or target.format == "text"
            body = render_text(args, summary, sys.stdout) if target.format == "text" else \
                RENDERERS[target.format](summary)
            write_stdout(body)
            continue
        write_atomic(target.path, RENDERERS[target.format](summary))
        written.append(target)
    if quiet:
        return
    if any(t.format != "text" and t.path is None for t in targets):
        # stdout carries another report (ndjson lines, or --output -): the summary goes to
        # stderr.
        sys.stderr.write(render_text(args, summary, sys.stderr))
        return
    lines = "" if text_on_stdout else render_text(args, summary, sys.stdout)
    lines += "".join(f"{t.format} report written to {t.path}\n" for t in written)
    if lines:
        write_stdout(lines)
