"""Real NNI experiments: the NNI manager, the local training service and the registered tuner.

The NAS-Bench-201 example (``examples/nni/nasbench201``) runs as shipped -- its search space, its
trial script and its tuner configuration -- except that the trials run with this Python; then
once more with a wrong class argument, which must end the experiment, not hang it. The FLASH
tuner is registered by name with ``flash-nas nni register`` and unregistered afterwards.

NNI reads HOME when it is imported (``~/nni-experiments/.experiment``), and this test process
has imported it long before, so the experiment runs in a child process -- this file run as a
script -- with HOME, NNI's registry (``NNI_CONFIG_DIR``) and the experiment folder all in a
temporary folder. The child always stops the experiment (also on SIGTERM, which is how this test
ends a child that overruns); should even that fail, the test kills the NNI manager's process
group, which the child recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import flash_nas

pytestmark = [pytest.mark.nni, pytest.mark.slow]
pytest.importorskip("nni", reason="a real NNI experiment needs the [nni] extra")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nni" / "nasbench201"
#: The run takes about 40 s alone (30 trials, 2 at once), minutes on a busy machine: the child
#: waits for the experiment to end however long the trials take, and gives up only when no trial
#: has finished for STALL_S (a hang), or after CEILING_S in all.
STALL_S = 600
CEILING_S = 3600


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flash_nas(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flash_nas", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run_child(
    env: dict[str, str], workdir: Path, class_args: dict[str, Any] | None = None
) -> dict[str, Any]:
    command = [sys.executable, __file__, str(workdir), str(_free_port())]
    if class_args is not None:
        command.append(json.dumps(class_args))
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = child.communicate(timeout=CEILING_S + 120)
    except subprocess.TimeoutExpired:
        child.terminate()  # the child's handler stops the experiment
        try:
            output, _ = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            output, _ = child.communicate()
    finally:
        manager = workdir / "manager.pid"
        if manager.is_file() and child.returncode != 0:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(manager.read_text()), signal.SIGKILL)
    result = workdir / "result.json"
    if not result.is_file():
        pytest.fail(f"the experiment child wrote no result:\n{output.decode()[-4000:]}")
    return json.loads(result.read_text())


def test_registered_flash_tuner_finds_a_top_cell_in_a_real_nni_experiment(tmp_path):
    from flash_nas_adapters.nasbench201.space import load_shipped_table

    env = {**os.environ, "HOME": str(tmp_path), "NNI_CONFIG_DIR": str(tmp_path / "nni-config")}
    registered = _flash_nas(env, "nni", "register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "Registered the NNI tuner FlashTuner" in registered.stdout
    try:
        run = _run_child(env, tmp_path)
    finally:
        unregistered = _flash_nas(env, "nni", "unregister")
    assert unregistered.returncode == 0, unregistered.stdout + unregistered.stderr
    assert "Unregistered the NNI tuner FlashTuner" in unregistered.stdout

    log = run["dispatcher_log"]
    assert run["status"] == "DONE", f"experiment ended {run['status']}; dispatcher log:\n{log}"
    assert run["tuner"] == "FlashTuner"  # the example names the registered tuner
    assert len(run["jobs"]) == 30 and set(run["jobs"].values()) == {"SUCCEEDED"}
    reported = {int(k): v for k, v in run["finals"].items()}
    assert sorted(reported) == list(range(30))

    # The tuner sent each trial's architecture under its parameter id (its log line says which),
    # and the trial reports the one it evaluated; after each result it logs its best so far.
    sent = {
        int(parameter_id): (source, arch)
        for parameter_id, source, arch in re.findall(
            r"FlashTuner: parameter (\d+) \((\w+)\): (\S+)", log
        )
    }
    assert sorted(sent) == list(range(30))
    for parameter_id, value in reported.items():
        assert sent[parameter_id][1] == value["arch"], parameter_id
    sources = [source for source, _ in sent.values()]
    # 10 from the initial design (one trial at a time), then the engine's model
    assert sources.count("initial") == 10 and set(sources[10:]) == {"model"}, sources
    told = re.findall(r"FlashTuner: (?:best feasible so far|no recommendation yet)", log)
    # NNI marks the experiment DONE once the last trial reports and may stop the dispatcher
    # while the tuner is still refitting on that result (a refit with 30 measured rows takes
    # a moment): its last line may be missing, no other.
    assert len(told) >= 29

    # The limit holds: every trial reports its latency (NNI's UI shows it), and none exceeds
    # max_latency_ms, the initial design included; the tuner's best is a feasible one.
    limit = 7.0
    assert all(value["latency_ms"] <= limit for value in reported.values()), sorted(
        value["latency_ms"] for value in reported.values()
    )
    best_lines = re.findall(r"FlashTuner: best feasible so far \((\w+)\): (\S+)", log)
    assert best_lines, log
    kind, logged = best_lines[-1]
    if kind == "measured":
        assert logged in {value["arch"] for value in reported.values()}
    nb201 = flash_nas.get_adapter("nasbench201")
    edgegpu = flash_nas.get_hardware("hwnasbench:edgegpu")
    assert edgegpu.estimate(nb201.to_graph(nb201.parse(logged)))["latency_ms"] <= limit

    # The best trial by its reported (validation) accuracy is in the top 1 % by test accuracy of
    # the cells that meet the limit (7 % of the space does not).
    best = max(reported.values(), key=lambda value: value["default"])
    assert best["latency_ms"] <= limit
    table = load_shipped_table()
    latency = edgegpu.estimate_batch(nb201.batch([nb201.parse(a) for a in table.archs]))
    feasible = table.column("c10_test")[latency["latency_ms"] <= limit]
    assert best["c10_test"] >= np.percentile(feasible, 99), best


def test_a_bad_class_argument_ends_the_experiment_with_the_reason(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "NNI_CONFIG_DIR": str(tmp_path / "nni-config")}
    assert _flash_nas(env, "nni", "register").returncode == 0
    try:
        run = _run_child(env, tmp_path, {"space": "nasbench201", "method": "tpe"})
    finally:
        _flash_nas(env, "nni", "unregister")
    assert run["status"] == "ERROR" and run["jobs"] == {}
    assert (
        "Unknown method 'tpe' (--method); expected one of: bo, flash."
        in run["dispatcher_log"]
    )


def _experiment(workdir: Path, port: int, class_args: dict[str, Any] | None) -> None:
    """The child: run the example (with other class arguments for the tuner, if given), write
    what the test checks to ``workdir/result.json``."""
    from nni.experiment import AlgorithmConfig, Experiment, ExperimentConfig

    def stop_on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    config = ExperimentConfig.load(str(EXAMPLE / "config.yml"))
    config.trial_command = f"{sys.executable} trial.py"
    # One trial at a time: with two, which result arrives first depends on the machine's speed,
    # so the proposals and the best cell would change from run to run and the quality check
    # below would test luck. The seeded run is reproducible one at a time; pending trials under
    # concurrency are tested in-process (tests/test_nni_tuner.py).
    config.trial_concurrency = 1
    config.experiment_working_directory = str(workdir / "nni-experiments")
    if class_args is not None:
        config.tuner = AlgorithmConfig(name=config.tuner.name, class_args=class_args)
    experiment = Experiment(config)
    result: dict[str, Any] = {"tuner": config.tuner.name}
    try:
        experiment.start(port)
        manager = getattr(experiment, "_proc", None)
        if manager is not None:
            (workdir / "manager.pid").write_text(str(manager.pid))
        started = last_progress = time.monotonic()
        finished = 0
        status = experiment.get_status()
        while status not in ("DONE", "STOPPED", "ERROR"):
            now = time.monotonic()
            if now - last_progress > STALL_S or now - started > CEILING_S:
                break  # a hang: report the status as it is
            time.sleep(1)
            status = experiment.get_status()
            jobs = experiment.list_trial_jobs()
            done = sum(job.status not in ("WAITING", "RUNNING") for job in jobs)
            if done > finished:
                finished, last_progress = done, time.monotonic()
        result["status"] = status
        result["jobs"] = {job.trialJobId: job.status for job in experiment.list_trial_jobs()}
        result["finals"] = {
            metric.parameterId: json.loads(metric.data)
            if isinstance(metric.data, str)
            else metric.data
            for metrics in experiment.get_job_metrics().values()
            for metric in metrics
            if metric.type == "FINAL"
        }
        log = workdir / "nni-experiments" / experiment.id / "log" / "dispatcher.log"
        result["dispatcher_log"] = log.read_text() if log.is_file() else ""
    finally:
        experiment.stop()
    (workdir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    _experiment(
        Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]) if sys.argv[3:] else None
    )
