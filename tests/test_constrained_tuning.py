"""``python -m benchmarks.constrained_tuning``: the constrained engine's setting variants on
the tuning seeds."""

from __future__ import annotations

import csv
import json
import math
from unittest import mock

import numpy as np
import pytest

from benchmarks import constrained_separability, constrained_tuning, constrained_variants
from benchmarks.constrained_tuning import Run, main, run_variant, summarise
from benchmarks.constrained_variants import variant
from benchmarks.suite.constrained_runs import load_device
from flash_nas.search.engine import acquisition, cost_beliefs, engine
from flash_nas.search.engine.bo import BayesianOptimisation


def test_a_variant_sets_its_setting_for_the_block_only() -> None:
    floor, design = engine.PROPOSE_FLOOR, BayesianOptimisation.default_initial_samples
    learn = cost_beliefs.CostBeliefs._learn_residuals
    with variant("floor_half"):
        assert engine.PROPOSE_FLOOR == 0.5 != floor
    with variant("design_5"):
        assert BayesianOptimisation.default_initial_samples == 5 != design
    with variant("no_residual_process"):
        assert cost_beliefs.CostBeliefs._learn_residuals is not learn
    doubt = cost_beliefs.learn_cost_doubt
    with variant("share_doubt"):
        ranged = cost_beliefs.learn_cost_doubt(np.array([[2.0, 1.0], [2.0, 3.0]]), 1.0)
        assert isinstance(ranged, constrained_variants.ShareDoubt)
    assert cost_beliefs.learn_cost_doubt is doubt
    # one cell timed at a seventh of what its neighbours say widens a mean of squares only
    residuals, spread = np.array([0.01, -0.02, 0.015, 2.0]), cost_beliefs.pooled_spread
    with variant("rms_spread"):
        assert cost_beliefs.pooled_spread(0.1, residuals) > 0.8 > 0.1 > spread(0.1, residuals)
    shipped_floor, shipped_choose = engine.SearchEngine.propose_floor, acquisition.choose
    with variant("late_floor"):
        assert engine.SearchEngine.propose_floor is not shipped_floor
    with variant("p_squared"):
        seen = []
        with mock.patch.object(
            constrained_variants, "SHIPPED_CHOOSE", lambda *a: seen.append(a[-1])
        ):
            acquisition.choose("model", "X", "cost", 1.0, 0.0, 2, np.array([0.5, 0.9]))
            acquisition.choose("model", "X", "cost", 1.0, 0.0, 2, None)
        np.testing.assert_allclose(seen[0], [0.25, 0.81])
        assert seen[1] is None
    assert engine.SearchEngine.propose_floor is shipped_floor
    assert acquisition.choose is shipped_choose
    assert floor == engine.PROPOSE_FLOOR
    assert cost_beliefs.pooled_spread is spread
    assert BayesianOptimisation.default_initial_samples == design
    assert cost_beliefs.CostBeliefs._learn_residuals is learn
    with (
        pytest.raises(ValueError, match="unknown variant 'fast'; expected one of default"),
        variant("fast"),
    ):
        pass


def test_a_run_is_judged_by_the_true_latency_and_counts_its_trainings_over() -> None:
    device = load_device("edgegpu")
    limit = device.limit(0.10)
    ceiling = run_variant("ceiling", "edgegpu", 0.10, 3, 6)
    # the true table leaves nothing over the limit to train, and its pick holds
    assert ceiling.holds and ceiling.over_in_design == ceiling.over_after == 0
    shipped = run_variant("design_5", "edgegpu", 0.10, 3, 6)
    assert shipped.variant == "design_5" and shipped.seed == 3
    # 6 trainings: 5 in the design, 1 after it
    assert 0 <= shipped.over_in_design <= 5 and 0 <= shipped.over_after <= 1
    assert limit > 0 and math.isfinite(shipped.test)


def _run(name: str, seed: int, holds: bool, test: float, over: int = 0) -> Run:
    return Run(name, "raspi4", 0.25, seed, holds, test, over, 2 * over)


def test_the_summary_means_holding_runs_and_reads_the_gap_off_the_ceiling() -> None:
    runs = [
        _run("default", 0, True, 90.0, over=1),
        _run("default", 1, False, 99.0, over=3),  # broke the limit: not in the mean
        _run("ceiling", 0, True, 91.0),
        _run("ceiling", 1, True, 92.0),
        _run("floor_half", 0, False, 95.0),
    ]
    rows = {row["variant"]: row for row in summarise(runs)}
    assert rows["default"]["test"] == 90.0 and rows["default"]["broke"] == 1
    assert rows["default"]["gap_to_ceiling"] == pytest.approx(1.5)
    assert rows["default"]["over_in_design"] == 2.0 and rows["default"]["over_after"] == 4.0
    assert rows["ceiling"]["gap_to_ceiling"] == 0.0
    # every run broke the limit: no mean to report, not a zero
    assert math.isnan(rows["floor_half"]["test"])


def test_quick_runs_every_variant_once_and_writes_them(tmp_path, capsys, monkeypatch) -> None:
    seen = []

    def recorded(name, device, quantile, seed, trainings):
        seen.append((name, device, quantile, seed, trainings))
        return Run(name, device, quantile, seed, True, 90.0 + len(seen), 0, 0)

    monkeypatch.setattr(constrained_tuning, "run_variant", recorded)
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    assert seen == [(name, "raspi4", 0.25, 100, 11) for name in constrained_tuning.VARIANTS]
    with (tmp_path / "constrained_tuning.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["variant"] for row in rows] == list(constrained_tuning.VARIANTS)
    printed = capsys.readouterr().out
    # the ceiling is the last run (90 + one per variant): the default (91.0) is the rest under it
    gap = len(constrained_tuning.VARIANTS) - 1
    assert f"raspi4 | q25 | default | 1 | 0 | 91.00 | +{gap:.2f} | 0.0, 0.0" in printed


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (["--variants", "default,fast"], "expected variants among default"),
        (["--devices", "tpu9"], "unknown devices ['tpu9']"),
        (["--seeds", "9-1"], "(first <= last), got '9-1'"),
        (["--limits", "0.1,2"], "expected a quantile between 0 and 1, got '2'"),
        (["--jobs", "0"], "expected a whole number >= 1, got 0"),
    ],
)
def test_bad_arguments_exit_2_saying_what_was_expected(bad, expected, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(bad)
    assert stop.value.code == 2
    assert expected in capsys.readouterr().err


def test_the_overall_line_averages_the_gaps_and_counts_rows_within_the_goal() -> None:
    runs = [
        Run("default", "raspi4", 0.10, 0, True, 90.0, 0, 0),
        Run("ceiling", "raspi4", 0.10, 0, True, 90.2, 0, 0),
        Run("default", "pixel3", 0.10, 0, True, 89.0, 0, 0),
        Run("ceiling", "pixel3", 0.10, 0, True, 90.0, 0, 0),
    ]
    gap, within, count = constrained_tuning.overall(summarise(runs))["default"]
    assert gap == pytest.approx(0.6) and (within, count) == (1, 2)
    assert "ceiling" not in constrained_tuning.overall(summarise(runs))


def test_a_saved_run_is_summarised_as_it_was_printed(tmp_path, capsys, monkeypatch) -> None:
    def recorded(name, device, quantile, seed, trainings):
        return Run(name, device, quantile, seed, name != "floor_half", 91.5, 1, 2)

    monkeypatch.setattr(constrained_tuning, "run_variant", recorded)
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    printed = "".join(
        line for line in capsys.readouterr().out.splitlines(True) if not line.startswith("wrote")
    )
    assert main(["--from", str(tmp_path / "constrained_tuning.csv")]) == 0
    assert capsys.readouterr().out == printed
    assert "floor_half | 1 | 1 | nan |" in printed  # its one run broke the limit


def test_from_a_missing_file_exits_2_naming_it(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--from", str(tmp_path / "none.csv")])
    assert stop.value.code == 2
    assert "none.csv: no such file" in capsys.readouterr().err


def test_the_summary_file_names_each_variants_figures(tmp_path) -> None:
    saved = tmp_path / "runs.csv"
    saved.write_text(
        "variant,device,quantile,seed,holds,test,over_in_design,over_after,trainings\n"
        "default,raspi4,0.1,100,True,90.0,3,4,25\n"
        "ceiling,raspi4,0.1,100,True,90.25,0,0,25\n"
        "default,raspi4,0.1,101,True,89.0,5,4,25\n"
        "ceiling,raspi4,0.1,101,True,90.25,0,0,25\n"
    )
    assert main(["--from", str(saved), "--output", str(tmp_path)]) == 0
    found = json.loads((tmp_path / "constrained_tuning.json").read_text())
    assert found["seeds"] == [100, 101]
    assert (
        found["command"]
        == f"python -m benchmarks.constrained_tuning --from {saved} --output {tmp_path}"
    )
    assert found["results"]["overall"] == {
        "default": {
            "gap_to_ceiling": pytest.approx(0.75),
            "within_goal": 0,
            "rows": 1,
            # (3 + 4) and (5 + 4) of the 25 trainings over the limit
            "trained_over_limit": pytest.approx(8.0),
            "minus_default": None,
        }
    }
    # each row's gap by device, limit and variant: 90.25 against (90 + 89) / 2
    assert found["results"]["gaps"] == {
        "raspi4": {"q10": {"default": pytest.approx(0.75), "ceiling": 0.0}}
    }


def test_each_variant_is_paired_with_the_default_by_device_limit_and_seed() -> None:
    runs = [
        Run("default", "raspi4", 0.10, 0, True, 90.0, 0, 0),
        Run("default", "raspi4", 0.10, 1, True, 89.0, 0, 0),
        Run("default", "pixel3", 0.10, 0, True, 91.0, 0, 0),
        Run("default", "pixel3", 0.10, 1, True, 88.0, 0, 0),
        Run("bold", "raspi4", 0.10, 0, True, 90.5, 0, 0),
        Run("bold", "raspi4", 0.10, 1, True, 90.0, 0, 0),
        Run("bold", "pixel3", 0.10, 0, True, 91.5, 0, 0),
        # a run that breaks the limit is left out of the pairs
        Run("bold", "pixel3", 0.10, 1, False, 99.0, 0, 0),
        Run("ceiling", "raspi4", 0.10, 0, True, 95.0, 0, 0),
    ]
    found = constrained_tuning.minus_default(runs)
    assert set(found) == {"bold"}
    mean, low, high = found["bold"]
    assert mean == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert low < mean < high


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arch,test\nx,1\n", "expected the columns variant,device,quantile,seed,holds,test,"),
        ("", "found none"),
        (
            "variant,device,quantile,seed,holds,test,over_in_design,over_after,trainings\n"
            "default,raspi4,0.1,100,True,90.0,3,4,25\n"
            "default,raspi4,0.1,101,maybe,90.0,3,4,25\n",
            "line 3: expected a known variant, a device, numbers",
        ),
        (
            "variant,device,quantile,seed,holds,test,over_in_design,over_after,trainings\n"
            "fast,raspi4,0.1,100,True,90.0,3,4,25\n",
            "line 2: expected a known variant",
        ),
        (
            "variant,device,quantile,seed,holds,test,over_in_design,over_after,trainings\n"
            "default,raspi4,0.1,100,True,90.0\n",
            "line 2: expected a known variant",
        ),
    ],
)
def test_a_saved_file_that_is_not_a_tuning_table_exits_1_naming_the_line(
    tmp_path, capsys, text, expected
) -> None:
    saved = tmp_path / "runs.csv"
    saved.write_text(text)
    assert main(["--from", str(saved), "--output", str(tmp_path)]) == 1
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "constrained_tuning.json").exists()  # nothing written from it


def _shipped_floor(searched) -> float:
    """The shipped floor's rule: PROPOSE_FLOOR, lowered to the likeliest untried chance."""
    return min(engine.PROPOSE_FLOOR, searched.best)


def test_late_floor_raises_the_floor_from_the_twenty_first_training_only() -> None:
    from types import SimpleNamespace

    with mock.patch.object(constrained_variants, "SHIPPED_FLOOR", _shipped_floor):
        early = SimpleNamespace(trials=dict.fromkeys(range(19)), best=0.9)
        late = SimpleNamespace(trials=dict.fromkeys(range(20)), best=0.9)
        doubtful = SimpleNamespace(trials=dict.fromkeys(range(20)), best=0.3)
        assert constrained_variants.late_floor(early) == engine.PROPOSE_FLOOR == 0.1
        assert constrained_variants.late_floor(late) == constrained_variants.LATE_FLOOR == 0.5
        # never above the likeliest untried architecture: the search would have nothing left
        assert constrained_variants.late_floor(doubtful) == 0.3
    assert engine.PROPOSE_FLOOR == 0.1


def test_design_floor_raises_the_floor_while_the_design_is_drawn_only() -> None:
    from types import SimpleNamespace

    with mock.patch.object(constrained_variants, "SHIPPED_FLOOR", _shipped_floor):
        design = SimpleNamespace(trials=dict.fromkeys(range(9)), initial_samples=10, best=0.9)
        after = SimpleNamespace(trials=dict.fromkeys(range(10)), initial_samples=10, best=0.9)
        doubtful = SimpleNamespace(trials={}, initial_samples=10, best=0.2)
        assert constrained_variants.design_floor(design) == 0.5
        assert constrained_variants.design_floor(after) == 0.1
        assert constrained_variants.design_floor(doubtful) == 0.2


def test_no_kind_costs_hides_the_adapters_kinds_for_the_block_only() -> None:
    import flash_nas

    adapter = flash_nas.get_adapter("nasbench201")
    with variant("no_kind_costs"):
        assert adapter.encoding_kinds() is None
    assert adapter.encoding_kinds()[:5] == [
        "none",
        "skip_connect",
        "nor_conv_1x1",
        "nor_conv_3x3",
        "avg_pool_3x3",
    ]


def test_the_whole_table_prior_fits_the_device_closer_than_the_pi3b_defaults() -> None:
    import flash_nas
    from flash_nas_hardware.pi3b import Pi3BModel

    device = load_device("fpga")
    model = constrained_separability.whole_table_model("fpga")
    adapter = flash_nas.get_adapter("nasbench201")
    texts = [t for t in list(device.latency)[::50] if device.measure(t) is not None]
    batch = adapter.batch([adapter.parse(t) for t in texts])
    truth = np.array([device.latency[t] for t in texts])

    def error(hardware) -> float:
        predicted = hardware.estimate_batch(batch)["latency_ms"]
        return float(np.median(np.abs(np.log(predicted / truth))))

    assert error(model) < 0.25 * error(Pi3BModel())


def test_the_learned_table_prior_is_the_devices_learned_table(monkeypatch) -> None:
    from flash_nas_hardware.hwnasbench import TableHardwareModel

    asked = []

    def learned(name: str) -> TableHardwareModel:
        asked.append(name)
        return TableHardwareModel("edgegpu")  # a table as exact as a table can be learned

    monkeypatch.setattr(constrained_tuning, "learned_table_model", learned)
    run = run_variant("learned_table_prior", "edgegpu", 0.10, 3, 6)
    assert asked == ["edgegpu"]
    # with the device's own timings for its prior, nothing it trains breaks the limit
    assert run.holds and run.over_in_design == run.over_after == 0


def test_a_run_whose_engine_has_nothing_left_to_propose_stops_and_says_so(
    exhaust_after, capsys, tmp_path
) -> None:
    exhaust_after(3)
    run = run_variant("default", "edgegpu", 0.25, 3, 6)
    # it recommends from the three it trained, as the error tells a user to
    assert run.trainings == 3 and run.over_in_design + run.over_after <= 3
    assert math.isfinite(run.test)
    saved = tmp_path / "runs.csv"
    saved.write_text(
        "variant,device,quantile,seed,holds,test,over_in_design,over_after,trainings\n"
        "default,edgegpu,0.25,3,True,90.0,1,0,3\n"
        "ceiling,edgegpu,0.25,3,True,91.0,0,0,6\n"
    )
    assert main(["--from", str(saved)]) == 0
    assert "default on edgegpu q25 seed 3: nothing left to propose after 3 of 6 trainings" in (
        capsys.readouterr().out
    )
