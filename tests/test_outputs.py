"""flash_nas.io.outputs: a file is replaced whole or not at all; outputs are checked up front."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from flash_nas.errors import OutputError
from flash_nas.io.outputs import (
    atomic_output,
    atomic_path,
    check_output_path,
    is_stream_target,
    remove_unfinished,
)

OLD = "old content\n"


@pytest.mark.parametrize("failure", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, failure):
    target = tmp_path / "out.csv"
    target.write_text(OLD)
    with pytest.raises(type(failure)), atomic_output(target) as handle:
        handle.write("half of the new")
        assert target.read_text() == OLD  # nothing visible while writing
        raise failure
    assert target.read_text() == OLD
    assert [path.name for path in tmp_path.iterdir()] == ["out.csv"]


def test_a_complete_write_replaces_the_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text(OLD)
    with atomic_output(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"
    with atomic_path(tmp_path / "figure.png") as temporary:
        assert temporary.suffix == ".png" and temporary.parent == tmp_path
        temporary.write_bytes(b"png")
    assert (tmp_path / "figure.png").read_bytes() == b"png"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["figure.png", "out.csv"]


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "new.csv") as handle:
            handle.write("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o644  # mkstemp's would be 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs")
def test_devices_and_fifos_are_written_directly(tmp_path):
    assert is_stream_target("-") and is_stream_target(os.devnull)
    assert not is_stream_target(tmp_path) and not is_stream_target(tmp_path / "absent.csv")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_output(fifo) as handle:
        handle.write("through the pipe\n")
    reader.join(timeout=10)
    assert received == ["through the pipe\n"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pipe"]


def test_checks_before_the_work(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(OLD)
    check_output_path(tmp_path / "fine.csv", inputs=[("--archs", source)])
    check_output_path("-")
    check_output_path(os.devnull)
    cases = [
        (tmp_path, "is a folder"),
        (tmp_path / "missing" / "x.csv", "does not exist"),
        ("  ", "is empty"),
        (tmp_path / "." / "in.csv", "is also the input of --archs"),
    ]
    for path, message in cases:
        with pytest.raises(OutputError, match=message):
            check_output_path(path, inputs=[("--archs", source)])
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    with pytest.raises(OutputError, match="is also the input of --archs"):
        check_output_path(link, inputs=[("--archs", source)])
    source.chmod(0o444)
    with pytest.raises(OutputError, match="is read-only"):
        check_output_path(source)


def test_a_write_error_names_the_file_and_says_it_is_unchanged(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text(OLD)

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with (
        pytest.raises(
            OutputError,
            match=r"Cannot write .*out.csv \(No space left on device\); "
            r"any file that was there is unchanged",
        ),
        atomic_output(target) as handle,
    ):
        handle.write("new")
    assert target.read_text() == OLD
    assert [path.name for path in tmp_path.iterdir()] == ["out.csv"]


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), atomic_output(tmp_path / "x", "a"):
        pass
    assert not Path(tmp_path / "x").exists()


def test_a_link_keeps_pointing_at_the_file_it_replaces(tmp_path):
    (tmp_path / "real.csv").write_text(OLD)
    link = tmp_path / "link.csv"
    link.symlink_to("real.csv")
    with atomic_output(link) as handle:
        handle.write("new\n")
    assert link.is_symlink() and (tmp_path / "real.csv").read_text() == "new\n"


def test_the_writer_itself_refuses_a_read_only_file(tmp_path):
    target = tmp_path / "kept.csv"
    target.write_text(OLD)
    target.chmod(0o444)
    with pytest.raises(OutputError, match="kept.csv is read-only"), atomic_output(target) as out:
        out.write("new\n")
    assert target.read_text() == OLD


def test_one_lock_per_file_and_none_left_behind(tmp_path):
    from flash_nas.io.locks import exclusive_use, lock_path

    state = tmp_path / "c.json"
    with exclusive_use(state):
        assert lock_path(state).read_text().strip() == str(os.getpid())
        busy = rf"another flash-nas run is using {state} \(pid {os.getpid()}\)"
        with pytest.raises(OutputError, match=busy), exclusive_use(state):
            pass
        link = tmp_path / "link.json"
        link.symlink_to("c.json")  # another spelling of the same state shares its lock
        with pytest.raises(OutputError, match="another flash-nas run is using"), exclusive_use(link):
            pass
    assert not lock_path(state).exists()
    with exclusive_use(state):  # free again
        pass


def test_a_temporary_handed_out_but_never_finished_is_removed_on_an_interrupt(tmp_path):
    # An interrupt raised after atomic_path handed out its temporary but before the `with`
    # block that would remove it took hold: the generator is left suspended, the file stays.
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    suspended = atomic_path(target)
    temporary = suspended.__enter__()
    temporary.write_text("half")
    assert temporary.exists()
    remove_unfinished()  # what the command line does on Ctrl-C
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert target.read_text() == "old\n"
    # a finished write leaves nothing for it to remove
    with atomic_path(target) as finished:
        finished.write_text("new\n")
    remove_unfinished()
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
