"""NNI model-space adapters: NNI's labels, NNI's networks (parameters and MACs of frozen models),
the NAS-Bench-201 graphs for every NNI NasBench201 sample, and clear errors on bad samples (the
plugin contract over the three spaces: tests/test_contracts.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

import flash_nas
from flash_nas import ArchFormatError, ArchGraph, score, score_batch
from flash_nas_adapters.nasbench201.space import NasBench201Adapter
from flash_nas_adapters.nni import spaces as nni_spaces
from flash_nas_adapters.nni.darts import NniDartsAdapter
from flash_nas_adapters.nni.nasbench201 import NniNasBench201Adapter
from flash_nas_adapters.nni.proxylessnas import NniProxylessAdapter

ALL_BUT_MASS = ("nn_degree", "nn_degree_neuron", "params", "macs", "flops", "activations")


# ----------------------------------------------------------------------------- helpers
def structural_params(graph: ArchGraph) -> int:
    """Parameters of every edge, live or not: what an NNI module holds."""
    return sum(edge.op.params for edge in graph.edges)


def structural_macs(graph: ArchGraph) -> int:
    """Conv and linear MACs of every non-zero edge: what an NNI module computes."""
    total = 0
    for edge in graph.edges:
        if edge.op.is_zero:
            continue
        src = graph.node(edge.src)
        height, width = src.height, src.width
        for layer in edge.op.layers:
            height, width = layer.output_size(height, width)
            if layer.kind == "conv":
                fan_in = layer.kernel**2 * layer.in_channels // layer.groups
                total += fan_in * layer.out_channels * height * width
            elif layer.kind == "linear":
                total += layer.in_channels * layer.out_channels
    return total


def nni_counts(model, side: int) -> tuple[int, int, tuple[int, ...]]:
    """(parameters, conv and linear MACs for one image, output shape) of an NNI module."""
    import torch

    macs = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1]
            macs.append(output[0].numel() * kernel * module.in_channels // module.groups)
        else:
            macs.append(module.in_features * module.out_features)

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
    ]
    try:
        model.eval()
        with torch.no_grad():
            output = model(torch.zeros(1, 3, side, side))
    finally:
        for handle in handles:
            handle.remove()
    params = sum(p.numel() for p in model.parameters())
    return params, sum(macs), tuple(output.shape)


def frozen(space, sample: dict, *, first: bool):
    """NNI's network of ``sample``: ``space.freeze`` for the first sample of a test, then
    ``frozen_factory`` (NNI's way to build a fixed arch, as ``load_searched_model`` does; the same
    network, built without the unchosen candidates, 10-30 times faster)."""
    if first:
        return space.freeze(sample)
    return type(space).frozen_factory(sample)()


def nni_draws(space, seeds) -> list[dict]:
    samples = []
    for seed in seeds:
        sample: dict = {}
        space.random(memo=sample, random_state=np.random.RandomState(seed))
        samples.append(sample)
    return samples


@pytest.fixture(scope="module")
def hub():
    """NNI's hub, with torch on one thread: these networks are tiny for one image, and several
    threads contending on a busy machine made a forward pass 300 times slower."""
    pytest.importorskip("nni", reason="NNI's own networks need the [nni] extra")
    module = pytest.importorskip("nni.nas.hub.pytorch", reason="NNI's model hub needs the [nni] extra")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield module
    finally:
        torch.set_num_threads(threads)


def test_the_plugin_registers_the_three_spaces(add_plugin):
    if "nni-darts" not in flash_nas.adapter_names():  # entry point not installed yet
        add_plugin(nni_spaces, "nni_spaces_under_test")
    for name, factory in nni_spaces.ADAPTERS.items():
        assert type(flash_nas.get_adapter(name)) is factory


def test_graphs_come_without_nni_or_torch():
    code = textwrap.dedent(
        """
        import sys
        from flash_nas import score_batch
        from flash_nas_adapters.nni import spaces as nni_spaces
        for factory in nni_spaces.ADAPTERS.values():
            adapter = factory()
            batch = adapter.sample(3, seed=1)
            adapter.to_graph(adapter.to_sample(adapter.parse(batch.texts()[0])))
            score_batch(batch, ["params", "nn_degree"])
        loaded = sorted(m for m in ("nni", "torch") if m in sys.modules)
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------ NNI's labels
@pytest.mark.parametrize(
    ("factory", "options"),
    [
        (NniNasBench201Adapter, {}),
        (NniDartsAdapter, {}),
        (NniDartsAdapter, {"width": 16, "num_cells": (4, 8)}),
        (NniProxylessAdapter, {}),
    ],
)
def test_labels_and_choices_are_nnis(hub, factory, options):
    adapter = factory(**options)
    simplified = adapter.nni_space().simplify()
    assert [(label.name, label.values) for label in adapter.codec.labels] == [
        (name, tuple(choice.values)) for name, choice in simplified.items()
    ]


def test_size_counts_nnis_samples_and_architectures(hub):
    darts = NniDartsAdapter()
    counts = [len(c.values) for c in darts.nni_space().simplify().values()]
    assert darts.size() == int(np.prod(counts, dtype=object))
    assert darts.size() == 3 * 5 * (7**8 * (2 * 3 * 4 * 5) ** 2) ** 2
    assert NniDartsAdapter(width=16, num_cells=8).size() == (7**8 * 120**2) ** 2
    # ProxylessNAS: a stage of depth d has 6**d block choices; blocks beyond d do not exist.
    assert NniProxylessAdapter().size() == 6 * (6 + 6**2 + 6**3 + 6**4) ** 5
    assert NniNasBench201Adapter().size() == 15_625


# --------------------------------------------------------------------- NAS-Bench-201
NB201_NAME = {"conv_1x1": "nor_conv_1x1", "conv_3x3": "nor_conv_3x3"}


def nb201_string(sample: dict) -> str:
    op = {key: NB201_NAME.get(value, value) for key, value in sample.items()}
    return (
        f"|{op['cell/0_1']}~0|+|{op['cell/0_2']}~0|{op['cell/1_2']}~1|"
        f"+|{op['cell/0_3']}~0|{op['cell/1_3']}~1|{op['cell/2_3']}~2|"
    )


def test_every_nni_nasbench201_sample_is_the_nasbench201_graph(hub):
    from nni.mutable import MutableDict

    samples = list(MutableDict(hub.NasBench201().simplify()).grid())
    assert len(samples) == 15_625
    adapter, reference = NniNasBench201Adapter(), NasBench201Adapter()
    ours = adapter.batch([adapter.parse(json.dumps(sample)) for sample in samples])
    theirs = reference.batch([reference.parse(nb201_string(sample)) for sample in samples])
    # One skeleton and the same choice rows: the same 15,625 graphs.
    assert ours.skeleton.skeleton == theirs.skeleton.skeleton
    np.testing.assert_array_equal(ours.choices, theirs.choices)
    np.testing.assert_array_equal(ours.indices(), theirs.indices())
    assert sorted(set(ours.indices())) == list(range(15_625))
    ours_scores, their_scores = score_batch(ours), score_batch(theirs)
    for name in ours_scores:
        np.testing.assert_array_equal(ours_scores[name], their_scores[name], err_msg=name)
    assert [json.loads(text) for text in ours.texts()[:500]] == samples[:500]
    for sample in samples[::1500]:  # the per-graph path, from the sample dict itself
        graph = adapter.to_graph(sample)
        assert replace(graph, name="") == replace(
            reference.to_graph(reference.parse(nb201_string(sample))), name=""
        )


def test_nni_nasbench201_parameters_match_the_frozen_model(hub):
    space = hub.NasBench201()
    adapter = NniNasBench201Adapter()
    all_live = {f"cell/{j}_{i}": "conv_3x3" for i in (1, 2, 3) for j in range(i)}
    # node 1 reaches the output only through none edges: its conv_3x3 is dead weight in NNI
    dead = {**all_live, "cell/1_2": "none", "cell/1_3": "none"}
    nni_params = []
    for number, sample in enumerate([all_live, dead, *nni_draws(space, range(4))]):
        params, macs, shape = nni_counts(frozen(space, sample, first=number == 0), 32)
        graph = adapter.to_graph(sample)
        assert params == structural_params(graph)
        assert macs == structural_macs(graph)
        assert shape == (1, 10)
        nni_params.append(params)
    assert score(adapter.to_graph(all_live), ["params"])["params"] == nni_params[0]
    # the metric counts what reaches the output: NNI's count less 15 dead ReLU-conv3x3-BN
    dead_conv = 5 * sum(9 * c * c + 2 * c for c in (16, 32, 64))
    assert score(adapter.to_graph(dead), ["params"])["params"] == nni_params[1] - dead_conv


def test_nni_nasbench201_table_is_keyed_by_nni_text():
    adapter = NniNasBench201Adapter()
    table = adapter.tables()["cifar10"]()
    assert len(table) == 15_625
    for row in (0, 777, 15_624):
        arch = adapter.parse(table.archs[row])
        assert adapter.format(arch) == table.archs[row]
        assert adapter.index(arch) == table.indices[row]


# ------------------------------------------------------------------------------ DARTS
def unused_preprocessing(graph: ArchGraph, sample: dict) -> int:
    """Parameters of preprocessed inputs that no op of their cell reads (dead in the graph)."""
    total = 0
    for cell in graph.cells:
        kind = (
            "reduce"
            if graph.node(cell.output).height < graph.node(f"{cell.name}.n1").height
            else "normal"
        )
        read = {value[0] for label, value in sample.items() if label.startswith(f"{kind}/input_")}
        for position in graph.incoming[f"{cell.name}.n0"] + graph.incoming[f"{cell.name}.n1"]:
            edge = graph.edges[position]
            if int(edge.dst[-1]) not in read:
                total += edge.op.params
    return total


def test_darts_matches_nnis_frozen_models(hub):
    import torch

    from flash_nas.train.torch_builder import build_module

    adapter = NniDartsAdapter()
    space = adapter.nni_space()
    samples = nni_draws(space, range(6))
    # one sample that reads only node 1 and inner nodes: every cell has a dead preprocessing
    narrow = dict(samples[0])
    narrow.update({label: [1] for label in narrow if "/input_2_" in label})
    narrow.update({label: [2] for label in narrow if "/input_3_" in label or "/input_4_" in label})
    narrow.update({"width": 16, "depth": 4})
    checked = 0
    for number, sample in enumerate([*samples, narrow]):
        # NNI builds the network from the sample our canonical text gives back
        again = adapter.to_sample(adapter.parse(adapter.format(adapter.from_sample(sample))))
        model = frozen(space, again, first=number == 0)
        params, macs, shape = nni_counts(model, 32)
        graph = adapter.to_graph(sample)
        assert params == structural_params(graph), sample
        assert macs == structural_macs(graph), sample
        assert shape == (1, 10)
        live = score(graph, ["params"])["params"]
        assert live == params - unused_preprocessing(graph, sample)
        checked += unused_preprocessing(graph, sample) > 0
    assert checked >= 1  # the dead-preprocessing case was exercised
    module = build_module(adapter.to_graph(samples[1]))
    assert tuple(module(torch.zeros(2, 3, 32, 32)).shape) == (2, 10)
    assert (
        sum(p.numel() for p in module.parameters())
        == score(adapter.to_graph(samples[1]), ["params"])["params"]
    )


def test_darts_imagenet_and_fixed_width_depth_match_nni(hub):
    for options, side in (
        ({"dataset": "imagenet", "width": 16, "num_cells": 8}, 224),
        ({"width": 36, "num_cells": 20}, 32),
    ):  # DARTS-v2's retraining size
        adapter = NniDartsAdapter(**options)
        (sample,) = nni_draws(adapter.nni_space(), [3])
        params, macs, shape = nni_counts(hub.DARTS.frozen_factory(sample)(**options), side)
        graph = adapter.to_graph(sample)
        assert (params, macs) == (structural_params(graph), structural_macs(graph))
        assert shape == (1, graph.node(graph.output).channels)


def test_darts_batch_groups_widths_and_depths():
    adapter = NniDartsAdapter()
    batch = adapter.sample(12, seed=5)
    shapes = {(json.loads(text)["width"], json.loads(text)["depth"]) for text in batch.texts()}
    assert len(shapes) > 1
    fast = score_batch(batch, ALL_BUT_MASS)
    for position, text in enumerate(batch.texts()):
        single = score(adapter.to_graph(adapter.parse(text)), ALL_BUT_MASS)
        for name in ALL_BUT_MASS:
            assert fast[name][position] == pytest.approx(single[name], rel=1e-12), name


# ------------------------------------------------------------------------ ProxylessNAS
def test_proxylessnas_matches_nnis_frozen_models(hub):
    import torch

    from flash_nas.train.torch_builder import build_module

    adapter = NniProxylessAdapter()
    space = adapter.nni_space()
    samples = nni_draws(space, range(3))
    smallest = {name: 1 if name.endswith("depth") else "k3e3" for name in samples[0]}
    largest = {name: 4 if name.endswith("depth") else "k7e6" for name in samples[0]}
    for number, sample in enumerate([*samples, smallest, largest]):
        # NNI builds the network from the sample our canonical text gives back
        again = adapter.to_sample(adapter.parse(adapter.format(adapter.from_sample(sample))))
        model = frozen(space, again, first=number == 0)
        params, macs, shape = nni_counts(model, 224)
        graph = adapter.to_graph(sample)
        values = score(graph, ["params", "macs"])
        assert (params, macs) == (values["params"], values["macs"]), sample
        assert shape == (1, 1000)
    graph = adapter.to_graph(smallest)
    module = build_module(graph)
    assert tuple(module(torch.zeros(1, 3, 224, 224)).shape) == (1, 1000)
    assert sum(p.numel() for p in module.parameters()) == score(graph, ["params"])["params"]


def test_proxylessnas_width_multiplier_matches_nni(hub):
    adapter = NniProxylessAdapter(width_mult=0.75, num_labels=100)
    (sample,) = nni_draws(adapter.nni_space(), [7])
    model = hub.ProxylessNAS.frozen_factory(sample)(width_mult=0.75, num_labels=100)
    params, macs, _ = nni_counts(model, 224)
    values = score(adapter.to_graph(sample), ["params", "macs"])
    assert (params, macs) == (values["params"], values["macs"])


def test_proxylessnas_text_leaves_out_unbuilt_blocks():
    adapter = NniProxylessAdapter()
    sample = adapter.to_sample(adapter.parse(adapter.sample(1, seed=3).texts()[0]))
    full = {**sample, "s4_depth": 1, "s4_i3": "k7e6"}  # NNI's samples hold every label
    arch = adapter.from_sample(full)
    text = adapter.format(arch)
    assert '"s4_i0"' in text and '"s4_i1"' not in text and '"s4_i3"' not in text
    assert adapter.parse(text) == arch
    assert adapter.to_graph(full).name == text
    assert set(adapter.to_sample(arch)) == set(adapter.codec.names)  # ready for NNI's freeze
    for text in adapter.sample(20, seed=0).texts():
        parsed = json.loads(text)
        for stage in (2, 3, 4, 5, 6):
            blocks = [k for k in parsed if k.startswith(f"s{stage}_i")]
            assert len(blocks) == parsed[f"s{stage}_depth"]


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("factory", "text", "message"),
    [
        (
            NniNasBench201Adapter,
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "expected a JSON object",
        ),
        (NniNasBench201Adapter, '["cell/0_1"]', "expected a JSON object .*got a JSON list"),
        (
            NniNasBench201Adapter,
            '{"cell/0_1":"conv_3x3","cell/0_2":"none","cell/1_2":"none","cell/0_3":"none",'
            '"cell/1_3":"none","cell/2_3":"none","cell/0_4":"none"}',
            "unknown label\\(s\\) 'cell/0_4'",
        ),
        (NniNasBench201Adapter, '{"cell/0_1":"conv_3x3"}', "missing label\\(s\\) 'cell/0_2'"),
        (
            NniNasBench201Adapter,
            '{"cell/0_1":"conv_5x5","cell/0_2":"none","cell/1_2":"none","cell/0_3":"none",'
            '"cell/1_3":"none","cell/2_3":"none"}',
            "'cell/0_1' holds 'conv_5x5'; expected one of \"none\", \"skip_connect\"",
        ),
        (
            NniNasBench201Adapter,
            '{"cell/0_1":["none"],"cell/0_2":"none","cell/1_2":"none","cell/0_3":"none",'
            '"cell/1_3":"none","cell/2_3":"none"}',
            "'cell/0_1' holds \\['none'\\]",
        ),
    ],
)
def test_bad_text_names_what_is_wrong(factory, text, message):
    with pytest.raises(ArchFormatError, match=message):
        factory().parse(text)


def darts_sample(**changes):
    adapter = NniDartsAdapter()
    sample = adapter.to_sample(adapter.parse(adapter.sample(1, seed=0).texts()[0]))
    sample.update(changes)
    return sample


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"normal/input_2_0": [2]},
            "'normal/input_2_0' holds \\[2\\]; expected one of \\[0\\], \\[1\\]",
        ),
        ({"normal/input_3_1": 1}, "'normal/input_3_1' is an input choice .* one-element list"),
        (
            {"reduce/op_4_0": "none"},
            "'reduce/op_4_0' holds 'none'; expected one of \"max_pool_3x3\"",
        ),
        ({"width": 20}, "'width' holds 20; expected one of 16, 24, 32"),
        ({"depth": True}, "'depth' holds True"),
        (
            {"normal/op_6_0": "skip_connect", "colour": 1},
            "unknown label\\(s\\) 'normal/op_6_0', 'colour'",
        ),
    ],
)
def test_bad_darts_samples_name_the_label(changes, message):
    with pytest.raises(ArchFormatError, match=message):
        NniDartsAdapter().to_graph(darts_sample(**changes))


def test_bad_proxylessnas_samples_name_the_label():
    adapter = NniProxylessAdapter()
    sample = adapter.to_sample(adapter.parse(adapter.sample(1, seed=2).texts()[0]))
    with pytest.raises(ArchFormatError, match="'s5_i1' is missing; stage 5 has depth 4"):
        adapter.from_sample({**{k: v for k, v in sample.items() if k != "s5_i1"}, "s5_depth": 4})
    with pytest.raises(ArchFormatError, match="'s7_i0' holds 'k9e3'"):
        adapter.from_sample({**sample, "s7_i0": "k9e3"})
    with pytest.raises(ArchFormatError, match="unknown label\\(s\\) 's8_i0'"):
        adapter.from_sample({**sample, "s8_i0": "k3e3"})
    with pytest.raises(ArchFormatError, match="marks with -1 exactly the blocks"):
        adapter.format((0,) * len(adapter.codec.names))


@pytest.mark.parametrize(
    ("factory", "options", "message"),
    [
        (NniDartsAdapter, {"dataset": "coco"}, "'dataset' parameter .* 'cifar', 'imagenet'"),
        (NniDartsAdapter, {"num_cells": (2, 4)}, "'num_cells' parameter .* int in 3..8192"),
        (NniDartsAdapter, {"width": (16, 16)}, "'width' parameter .* distinct"),
        (NniDartsAdapter, {"dataset": "imagenet", "width": 15}, "must be even for 'imagenet'"),
        (
            NniNasBench201Adapter,
            {"stem_out_channels": 0},
            "'stem_channels' .* passes NNI's stem_out_channels",
        ),
        (NniProxylessAdapter, {"base_widths": (32, 16)}, "'base_widths' parameter .* 9 ints"),
        (NniProxylessAdapter, {"width_mult": 0}, "'width_mult' parameter .* > 0"),
        (NniProxylessAdapter, {"input_size": 16}, "'input_size' parameter .* in 32..4096"),
        (NniProxylessAdapter, {"input_size": 10**12}, "'input_size' parameter .* in 32..4096"),
        (NniProxylessAdapter, {"width_mult": 1e308}, "'width_mult' parameter .* <= 64"),
        (NniProxylessAdapter, {"num_labels": 10**180}, "'num_labels' parameter .* 1..1000000"),
        (NniDartsAdapter, {"width": 10**180}, "'width' parameter .* in 1..8192"),
    ],
)
def test_bad_parameters_are_rejected(factory, options, message):
    with pytest.raises(ValueError, match=message):
        factory(**options)


def test_sample_sizes_are_checked():
    with pytest.raises(ValueError, match="sample size must be an int"):
        NniDartsAdapter().sample(0, seed=0)
    with pytest.raises(ValueError, match="sample size must be an int"):
        NniProxylessAdapter().sample(2.5, seed=0)
