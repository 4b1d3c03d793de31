"""``--state`` is written like ``--output``, every file an option reads is protected from every
file a command writes, a state in use is locked, and a resume keeps its settings (issue 19)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import flash_nas
from flash_nas.search.engine import SearchEngine
from tests.cli_helpers import fail, run

SEARCH = ("search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid")
PROFILE = Path(flash_nas.__file__).parent.parent / "hardware" / "data" / "pi3b_ncnn_rpi3bplus_4t.json"


def search(tmp_path: Path, state: Path | str, *extra: str) -> tuple[str, ...]:
    """A quick search saving to ``state`` (``extra`` comes last: a repeated flag wins)."""
    return (*SEARCH, "--objective", "acc", "--n-labels", "3", "--output",
            str(tmp_path / "best.csv"), "--state", str(state), *extra)


def is_state(text: str) -> bool:
    return json.loads(text)["format"] == "flash-nas engine state"


# ---------------------------------------------------------------- the writer: as --output's
def test_a_fifo_state_is_written_in_place(tmp_path, capsys):
    fifo = tmp_path / "state.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    code, _, _ = run(capsys, *search(tmp_path, fifo))
    reader.join(timeout=30)
    assert code == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO
    assert received and is_state(received[0])


def test_a_device_state_is_written_in_place(tmp_path, capsys):
    """A copy of /dev/null (character device 1,3) stands for it: an old writer would have
    replaced the machine's own /dev/null by a regular file."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device here ({exc.strerror}): needs root on a dev mount")
    code, _, _ = run(capsys, *search(tmp_path, device))
    assert code == 0 and stat.S_ISCHR(os.lstat(device).st_mode)
    assert not list(tmp_path.glob(".null.*"))


def test_a_read_only_state_is_refused_and_kept(tmp_path, capsys):
    state = tmp_path / "state.json"
    assert run(capsys, *search(tmp_path, state))[0] == 0
    before = state.read_bytes()
    state.chmod(0o444)
    code, err = fail(capsys, *search(tmp_path, state, "--n-labels", "4"))
    assert code == 2 and f"--state {state} is read-only" in err
    assert state.read_bytes() == before and stat.S_IMODE(state.stat().st_mode) == 0o444


def test_a_state_that_is_a_link_stays_a_link(tmp_path, capsys):
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    link.symlink_to(target.name)
    assert run(capsys, *search(tmp_path, link))[0] == 0
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert is_state(target.read_text())


def test_a_state_keeps_its_mode_and_a_new_one_gets_the_umask_s(tmp_path, capsys):
    kept, new = tmp_path / "kept.json", tmp_path / "new.json"
    assert run(capsys, *search(tmp_path, kept))[0] == 0
    kept.chmod(0o640)
    assert run(capsys, *search(tmp_path, kept, "--n-labels", "4"))[0] == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    umask = os.umask(0o027)
    try:
        assert run(capsys, *search(tmp_path, new))[0] == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600


# ------------------------------------------------------- a bad --state, before any work starts
@pytest.fixture
def no_engine(monkeypatch):
    """Fails the test if a search engine is built (the work starts with it)."""
    built = []
    original = SearchEngine.__init__

    def spy(self, *args, **kwargs):
        built.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(SearchEngine, "__init__", spy)
    return built


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("folder", "--state {path} is a folder"),
        ("missing/state.json", "--state: the folder 'missing' does not exist"),
        ("locked/state.json", "--state: the folder 'locked' is not writable"),
    ],
)
def test_a_state_that_cannot_be_written_is_refused_before_work(
    tmp_path, capsys, monkeypatch, no_engine, where, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "locked").mkdir(mode=0o555)
    code, err = fail(capsys, *search(tmp_path, where))
    assert code == 2 and message.format(path=where) in err
    assert ".tmp" not in err and no_engine == []


# --------------------------------------------------------- an output never overwrites an input
def _search_with_profile(*extra: str) -> tuple[str, ...]:
    return (*SEARCH, "--budget", "3", "--hardware", "pi3b", *extra)


def _hw(*extra: str) -> tuple[str, ...]:
    return ("hw", "--space", "nasbench201", "--sample", "3", *extra)


def _train(*extra: str) -> tuple[str, ...]:
    return ("train", "--space", "nasbench201", "--budget", "2", "--epochs", "1", *extra)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (_search_with_profile("--profile", "prof.json", "--output", "prof.json"),
         "--output prof.json is also read by --profile prof.json"),
        (_search_with_profile("-H", "profile=prof.json", "--output", "./prof.json"),
         "--output ./prof.json is also read by -H profile=prof.json"),
        (_search_with_profile("--profile", "prof.json", "--output", "o.csv", "--plot", "prof.json"),
         "--plot prof.json is also read by --profile prof.json"),
        (_hw("--hardware", "pi3b", "-H", "profile=prof.json", "--output", "prof.json"),
         "--output prof.json is also read by -H profile=prof.json"),
        (_hw("--hardware", "hwnasbench", "-H", "table=meas.csv", "--output", "meas.csv"),
         "--output meas.csv is also read by -H table=meas.csv"),
        (_train("--data", "cif", "--output", "cif/data_batch_1"),
         "--output cif/data_batch_1 lies inside the folder cif that --data reads"),
        (_train("--data", "cif", "--state", "s.json", "--output", "s.json"),
         "--output s.json is also used by --state s.json"),
        (_search_with_profile("--output", "o.csv", "--plot", "o.csv"),
         "--plot o.csv is also written by --output o.csv"),
    ],
)
def test_an_output_that_is_an_input_is_refused_whatever_spells_it(
    tmp_path, capsys, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)
    shutil.copy(PROFILE, "prof.json")
    Path("meas.csv").write_text("arch,latency_ms\n")
    Path("cif").mkdir()
    Path("cif/data_batch_1").write_bytes(b"batch")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, err = fail(capsys, *argv)
    assert code == 2 and message in err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing replaced


# ------------------------------------------------------------------ one run at a time per state
HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys
    descriptor = os.open(sys.argv[1] + ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.write(descriptor, str(os.getpid()).encode())
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our standard input
    """
)


@pytest.fixture
def held(tmp_path):
    """A process holding the lock of ``tmp_path / 'c.json'`` as a flash-nas run would."""
    pytest.importorskip("fcntl", reason="the lock is flock; Windows uses msvcrt")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "c.json")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    holder.kill()
    holder.wait()


def test_a_state_in_use_is_refused_at_once_naming_the_holder(tmp_path, capsys, held, no_engine):
    state = tmp_path / "c.json"
    state.write_text("{}")
    code, err = fail(capsys, *search(tmp_path, state))
    assert code == 1
    assert f"another flash-nas run is using {state} (pid {held.pid}); wait for it or use " \
           f"another --state" in err
    assert state.read_text() == "{}" and no_engine == []


def test_train_state_in_use_is_refused_too(tmp_path, capsys, held):
    (tmp_path / "cif").mkdir()
    code, err = fail(capsys, *_train("--data", str(tmp_path / "cif"), "--state",
                                     str(tmp_path / "c.json"), "--output", str(tmp_path / "t.csv")))
    assert code == 1 and f"(pid {held.pid})" in err


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path, capsys, held):
    held.kill()  # SIGKILL: the kernel drops the lock; the lock file stays behind
    held.wait()
    state = tmp_path / "c.json"
    assert Path(f"{state}.lock").exists()
    assert run(capsys, *search(tmp_path, state))[0] == 0 and is_state(state.read_text())
    assert not Path(f"{state}.lock").exists()  # removed by the run that finished


# ------------------------------------------------------------ a resume keeps its settings
@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    shutil.copy(PROFILE, folder / "prof.json")
    shutil.copy(PROFILE, folder / "other.json")
    state = folder / "c.json"
    from flash_nas.cli import main

    argv = [*SEARCH, "--budget", "5", "--hardware", "pi3b", "--profile", str(folder / "prof.json"),
            "--objective", "acc/latency", "--max-latency-ms", "40", "--seed", "1",
            "--output", str(folder / "first.csv"), "--state", str(state)]
    assert main(argv) == 0
    return folder, state


@pytest.fixture
def resumable(saved_run, tmp_path):
    folder, state = saved_run
    copy = tmp_path / "c.json"
    shutil.copy(state, copy)
    return folder, copy


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (("--hardware", "imc"), "--hardware differs from the run saved in --state {state}: "
                                "saved 'pi3b', given 'imc'"),
        (("--max-latency-ms", "5"), "--max-latency-ms differs from the run saved in --state "
                                    "{state}: saved 40.0, given 5.0"),
        (("--objective", "acc"), "--objective differs from the run saved in --state {state}: "
                                 "saved 'acc/latency', given 'acc'"),
        (("--method", "flash"), "--method differs from the run saved in --state {state}: "
                                "saved 'bo', given 'flash'"),
        (("--seed", "2"), "--seed differs from the run saved in --state {state}: saved 1, given 2"),
        (("-O", "input_size=64"), "-O input_size differs from the run saved in --state {state}: "
                                  "saved not set, given 64"),
        (("-H", "profile={folder}/other.json"), "-H profile differs from the run saved"),
        (("--profile", "{folder}/other.json"), "--profile differs from the run saved"),
    ],
)
def test_a_resume_with_another_setting_is_refused_naming_both_values(
    resumable, capsys, changed, message
):
    folder, state = resumable
    before = state.read_bytes()
    changed = tuple(part.format(folder=folder) for part in changed)
    code, err = fail(capsys, *SEARCH, "--budget", "6", "--output", str(state.parent / "o.csv"),
                     "--state", str(state), *changed)
    assert code == 2 and message.format(state=state) in err
    assert state.read_bytes() == before


def test_a_resume_that_only_extends_the_run_goes_on_with_the_saved_settings(resumable, capsys):
    _folder, state = resumable
    output = state.parent / "more.csv"
    # --space, --objective, --profile, --max-latency-ms left out: the saved ones
    code, _, err = run(capsys, "search", "--labels-from", "cifar10:c10_valid", "--budget", "6",
                       "--output", str(output), "--state", str(state),
                       "--seed", "1", "--hardware", "pi3b")  # typed, equal: accepted
    assert code == 0 and "5 trial(s) recorded" in err
    engine = SearchEngine.load(state)
    assert len(engine.trials) == 6
    assert (engine.hardware_name, engine.limits, engine.seed) == ("pi3b", {"max_latency_ms": 40.0}, 1)
    assert "latency_ms" in output.read_text().splitlines()[0]  # the saved hardware, not none


def test_train_resume_with_another_seed_is_refused(tmp_path, capsys):
    state = tmp_path / "s.json"
    SearchEngine("nasbench201", seed=3, initial_samples=2).save(state)
    (tmp_path / "cif").mkdir()
    code, err = fail(capsys, *_train("--data", str(tmp_path / "cif"), "--state", str(state),
                                     "--seed", "4", "--output", str(tmp_path / "t.csv")))
    assert code == 2 and "--seed differs" in err and "saved 3, given 4" in err


def test_search_without_space_needs_a_state_to_resume(tmp_path, capsys):
    code, err = fail(capsys, "search", "--labels-from", "cifar10:c10_valid", "--budget", "3",
                     "--output", str(tmp_path / "o.csv"), "--state", str(tmp_path / "none.json"))
    assert code == 2 and "required: --space (or --state FILE of a run to resume)" in err
