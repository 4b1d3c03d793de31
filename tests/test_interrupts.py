"""A real ``flash-nas score`` process: interrupted (SIGINT, SIGKILL) while it writes over an
existing file, the file is byte-identical; its progress bar shows on a terminal or on request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals and pseudo-terminals"
)

OLD = b"arch,nn_degree\nkeep me,1\n"
SCORE = [
    sys.executable,
    "-m",
    "flash_nas",
    "score",
    "--space",
    "flash",
    "--metrics",
    "nn_degree,params",
]


def start_and_signal(folder: Path, sample: int, signum: int) -> tuple[subprocess.Popen, str]:
    """Start ``score`` over ``folder/out.csv`` and send ``signum`` once its temporary file
    exists, that is, in the middle of writing the new content."""
    output = folder / "out.csv"
    process = subprocess.Popen(
        [*SCORE, "--sample", str(sample), "--quiet", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # as from a shell: a pytest-xdist worker ignores SIGINT, and a child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not any(path.name.startswith(".out.csv.") for path in folder.iterdir()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"score ended before it was interrupted: {process.stderr.read()!r}")
        time.sleep(0.002)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    return process, err.decode()


def is_complete(content: bytes, rows: int) -> bool:
    """The whole new table: header, ``rows`` rows, a final newline."""
    lines = content.decode().split("\n")
    return lines[0] == "arch,nn_degree,params" and len(lines) == rows + 2 and lines[-1] == ""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_score_leaves_the_old_file(tmp_path, signum):
    # The signal is sent once the temporary file exists, but a loaded machine may let the
    # process finish its rename first: then the file must be the whole new table. Never a
    # partial file (before: 815 of 15,626 lines, still a valid CSV); and at least one of the
    # attempts must catch the write in the middle, leaving the old file byte-identical.
    rows = 400_000
    kept_old = 0
    for attempt in range(4):
        folder = tmp_path / f"attempt{attempt}"
        folder.mkdir()
        output = folder / "out.csv"
        output.write_bytes(OLD)
        process, err = start_and_signal(folder, rows, signum)
        content = output.read_bytes()
        assert content == OLD or is_complete(content, rows), content[-200:]
        assert "Traceback" not in err
        if content != OLD:
            continue
        kept_old += 1
        if signum == signal.SIGINT:
            assert process.returncode == 130
            assert err.strip().splitlines()[-1] == (
                "flash-nas: interrupted; output files are unchanged"
            )
            assert sorted(path.name for path in folder.iterdir()) == ["out.csv"]  # cleaned up
        else:
            assert process.returncode == -signal.SIGKILL
        break
    assert kept_old, "no attempt was interrupted in the middle of its write"


def test_a_completed_score_replaces_the_file_whole(tmp_path):
    output = tmp_path / "out.csv"
    output.write_bytes(OLD)
    output.chmod(0o640)
    done = subprocess.run(
        [*SCORE, "--sample", "1000", "--output", str(output)], capture_output=True, check=True
    )
    lines = output.read_text().splitlines()
    assert lines[0] == "arch,nn_degree,params" and len(lines) == 1001
    assert oct(output.stat().st_mode & 0o777) == oct(0o640)  # the old file's permissions kept
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]
    assert done.stderr.decode().strip() == f"Wrote 1,000 rows to {output}."  # no bar: a pipe


@pytest.mark.parametrize(
    ("flag", "environment"), [("--progress", {}), (None, {"FLASH_NAS_PROGRESS": "1"})]
)
def test_the_progress_bar_can_be_forced_on(tmp_path, flag, environment):
    done = subprocess.run(
        [
            *SCORE,
            "--sample",
            "100000",
            *([flag] if flag else []),
            "--output",
            str(tmp_path / "s.csv"),
        ],
        capture_output=True,
        check=True,
        env={**os.environ, **environment},
    )
    err = done.stderr.decode()
    assert "writing" in err and "100000/100000" in err and "row/s" in err


def test_the_progress_bar_shows_on_a_terminal_unless_quiet(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    outputs = []
    for quiet in (False, True):
        leader, follower = pty.openpty()
        # a fresh pseudo-terminal is 0 columns wide, and tqdm draws nothing in 0 columns
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        process = subprocess.Popen(
            [
                *SCORE,
                "--sample",
                "100000",
                *(["--quiet"] if quiet else []),
                "--output",
                str(tmp_path / "s.csv"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=follower,
            env={k: v for k, v in os.environ.items() if k != "FLASH_NAS_PROGRESS"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
        os.close(leader)
        assert process.returncode == 0
        outputs.append(b"".join(chunks).decode(errors="replace"))
    shown, quiet = outputs
    assert "100000/100000" in shown
    assert "100000/100000" not in quiet and "Wrote 100,000 rows" in quiet
