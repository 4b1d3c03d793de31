"""Any ``torch.nn.Module`` as an ArchGraph, read through ``torch.fx``.

:func:`graph_from_module` traces the module in eval mode (``torch.fx.symbolic_trace``), runs one
zero input through the trace to learn every tensor's shape, and maps the trace onto ArchGraph:

* a chain of single-input layers (conv, batch norm, activation, pooling, linear) becomes one edge
  whose op holds the chain, as the built-in adapters write a conv-bn-relu; a tensor gets a node
  of its own where the network branches (several users), merges (``+`` into a ``sum`` node,
  ``torch.cat`` along channels into a ``concat`` node, squeeze-excitation's ``gate * x`` into a
  ``mul`` node) or ends;
* dropout, ``nn.Identity`` and torchvision's stochastic depth are the identity (eval mode);
  ``flatten``/``view`` of a 1x1 tensor is the identity, of a larger one the ``flatten`` layer;
  ``chunk``/``split`` along channels are channel slices; ShuffleNet's channel shuffle
  (``view`` to 5-D, ``transpose``, ``view`` back) is an identity edge into a new node (a
  permuting copy, priced as one);
* adaptive average pooling (module, ``F.adaptive_avg_pool2d`` or ``mean`` over H and W) to 1x1 is
  global pooling, to the input's size the identity, to a divisor of it a plain pooling window;
* pooling with ``ceil_mode=True`` is written with the smallest symmetric padding that gives the
  same output size (same window count; its cost rules count windows).

Everything else (a layer kind with no cost rule, non-square kernels, dilation, a parameter used
directly, arithmetic with constants...) raises NotSupportedError naming the op and the module
path, and a module that ``torch.fx`` cannot trace raises NotSupportedError saying so. Every
shape the graph derives is checked against the shape torch computed.

Parameters counted are those of the layers the traced forward pass runs: a module that holds
parameters its eval forward never uses (GoogLeNet's auxiliary classifiers) counts fewer than
``sum(p.numel() for p in module.parameters())``, and a warning names those modules.

The graph has no cells (a module does not say where its repeated blocks are), so the cell
metrics NN-Degree and NN-Mass are 0 for it; parameters, MACs, FLOPs, activations and every
hardware model apply.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from flash_nas import ArchGraph, Edge, GraphError, Layer, NotSupportedError, Op, Tensor

__all__ = ["graph_from_module"]

Shape = tuple[int, int, int]  # channels, height, width; a (N, F) tensor is (F, 1, 1)
_Combine = Literal["sum", "concat", "mul"]  # how a merge node joins its inputs (Tensor.combine)


@dataclass(frozen=True)
class _Pending:
    """A tensor: graph node ``src`` (channels ``[offset, offset + channels)`` of it when
    ``channels`` is set) through ``layers``, not yet written to a node of its own."""

    src: str
    shape: Shape
    layers: tuple[Layer, ...] = ()
    offset: int = 0
    channels: int | None = None


@dataclass(frozen=True)
class _Reshaped:
    """A 5-D or transposed view of ``base`` inside a channel shuffle."""

    base: _Pending


class _Meta:
    """A non-tensor value (a size, a channel count) used to compute shapes."""


_META = _Meta()
_ACTIVATIONS = {
    "ReLU": "relu",
    "ReLU6": "relu6",
    "Hardswish": "hswish",
    "Hardsigmoid": "hsigmoid",
    "Sigmoid": "sigmoid",
    "SiLU": "silu",
}
_IDENTITY_MODULES = ("Dropout", "Dropout2d", "Dropout1d", "AlphaDropout", "Identity")


def graph_from_module(module: Any, input_shape: Shape = (3, 224, 224), name: str = "") -> ArchGraph:
    """The ArchGraph of ``module`` (a ``torch.nn.Module``) for one input of ``input_shape``."""
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    label = name or type(module).__name__
    module.eval()
    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as exc:  # tracing runs the user's forward: any error means "cannot trace"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotSupportedError(
            f"torch.fx cannot trace {label}: {first}. Its forward must not branch on tensor "
            f"values (torch.fx symbolic tracing); see the torch.fx documentation."
        ) from None
    try:
        with torch.no_grad():
            ShapeProp(traced).propagate(torch.zeros(1, *input_shape))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0]
        raise GraphError(
            f"{label} does not run on a 1x{'x'.join(map(str, input_shape))} input: {first}. "
            f"Set the input with -O input_size=N -O in_channels=C."
        ) from None
    graph = _Converter(traced, input_shape, label).run()
    _warn_unused_parameters(module, traced, label)
    return graph


def _warn_unused_parameters(module: Any, traced: Any, label: str) -> None:
    """Say so when the eval forward pass leaves parameters unused: the graph does not count them."""
    used = {node.target for node in traced.graph.nodes if node.op == "call_module"}
    unused: dict[str, int] = {}
    for name, parameter in module.named_parameters():
        owner = name.rpartition(".")[0]
        if owner not in used:
            top = owner.split(".")[0] or name
            unused[top] = unused.get(top, 0) + parameter.numel()
    if unused:
        warnings.warn(
            f"{label}: {sum(unused.values()):,} parameters (in {', '.join(sorted(unused))}) are "
            "not used by the forward pass in eval mode, so the graph does not count them.",
            stacklevel=3,
        )


class _Converter:
    def __init__(self, traced: Any, input_shape: Shape, label: str) -> None:
        self.traced = traced
        self.label = label
        self.nodes: list[Tensor] = []
        self.edges: list[Edge] = []
        self.values: dict[Any, Any] = {}
        self.input_shape = input_shape

    # ------------------------------------------------------------------ graph building
    def run(self) -> ArchGraph:
        output = None
        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                if self.nodes:
                    raise NotSupportedError(f"{self.label}: forward takes more than one input.")
                self.nodes.append(Tensor("input", *self.input_shape))
                self.values[node] = _Pending("input", self.input_shape)
            elif node.op == "output":
                output = node.args[0]
            else:
                value = self._convert(node)
                if isinstance(value, _Pending) and _shape(node) != value.shape:
                    raise GraphError(  # a bug here, not the user's: say what disagreed
                        f"{self.label}: at {self._where(node)} the graph derives shape "
                        f"{value.shape} but torch computes {_shape(node)}."
                    )
                if isinstance(value, _Pending) and len(node.users) > 1:
                    value = self._materialize(value, node.name)
                self.values[node] = value
        result = self.values.get(output)
        if not isinstance(result, _Pending):
            raise NotSupportedError(
                f"{self.label}: forward must return one tensor; it returns {type(output).__name__}."
            )
        result = self._materialize(result, "output", force=result.src == "input")
        return ArchGraph(tuple(self.nodes), tuple(self.edges), "input", result.src, name=self.label)

    def _add_node(self, name: str, shape: Shape, combine: _Combine = "sum") -> str:
        self.nodes.append(Tensor(name, *shape, combine=combine))
        return name

    def _edge(self, value: _Pending, dst: str, op_name: str) -> None:
        op = Op(op_name, value.layers)
        self.edges.append(Edge(value.src, dst, op, value.offset, value.channels))

    def _materialize(self, value: _Pending, name: str, force: bool = False) -> _Pending:
        """``value`` written to a node of its own (nothing to do for a whole node)."""
        if not force and not value.layers and value.channels is None:
            return value
        dst = self._add_node(name, value.shape)
        self._edge(value, dst, "+".join(layer.kind for layer in value.layers) or "identity")
        return _Pending(dst, value.shape)

    def _apply(self, value: Any, layer: Layer | None, node: Any) -> _Pending:
        """``value`` through one more layer (None: the identity)."""
        value = self._tensor(value, node)
        if layer is None:
            return value
        if value.channels is not None:  # only identity edges read slices: write the slice first
            value = self._materialize(value, f"{node.name}_in")
        return _Pending(value.src, _shape(node), (*value.layers, layer))

    def _merge(self, node: Any, operands: list[Any], combine: _Combine) -> _Pending:
        pending = [self._tensor(operand, node) for operand in operands]
        dst = self._add_node(node.name, _shape(node), combine)
        for value in pending:
            self._edge(value, dst, "+".join(layer.kind for layer in value.layers) or "identity")
        return _Pending(dst, _shape(node))

    def _tensor(self, arg: Any, node: Any) -> _Pending:
        value = self.values.get(arg) if _is_fx_node(arg) else None
        if not isinstance(value, _Pending):
            raise NotSupportedError(
                f"{self.label}: {_op_name(node)} at {self._where(node)} has no cost rule for an "
                f"operand that is not a tensor of the network ({arg!r})."
            )
        return value

    def _where(self, node: Any) -> str:
        if node.op == "call_module":
            return str(node.target)
        stack = node.meta.get("nn_module_stack") or {}
        return f"{next(reversed(stack))} ({node.name})" if stack else node.name

    def _unsupported(self, node: Any, why: str = "") -> NotSupportedError:
        return NotSupportedError(
            f"{self.label}: no cost rule for {_op_name(node, self.traced)} at "
            f"{self._where(node)}{': ' + why if why else ''}. Supported: conv (square, no "
            f"dilation), linear, batch norm, ReLU/ReLU6/Hardswish/Hardsigmoid/Sigmoid/SiLU, "
            f"max/avg/adaptive pooling, add, cat, squeeze-excitation multiply, flatten, dropout."
        )

    # --------------------------------------------------------------------- dispatch
    def _convert(self, node: Any) -> Any:
        rank = len(getattr(node.meta.get("tensor_meta"), "shape", (0, 0)))
        if rank not in (2, 4, 5):
            raise self._unsupported(node, f"a tensor of rank {rank} (the graph holds images)")
        if node.op == "call_module":
            return self._module(node, self.traced.get_submodule(node.target))
        if node.op == "get_attr":
            raise self._unsupported(node, "a parameter or buffer used directly")
        args = list(node.args)
        if node.meta.get("tensor_meta") is None:  # sizes and channel counts, not tensors
            return _META
        target = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
        return self._function(node, str(target), args)

    def _module(self, node: Any, module: Any) -> _Pending:
        kind = type(module).__name__
        source = node.args[0]
        in_shape = self._tensor(source, node).shape
        out_shape = _shape(node)
        if kind in _IDENTITY_MODULES:
            return self._apply(source, None, node)
        if kind in _ACTIVATIONS:
            return self._apply(source, Layer(_ACTIVATIONS[kind], in_shape[0], in_shape[0]), node)
        if kind == "Hardtanh" and (module.min_val, module.max_val) == (0.0, 6.0):
            return self._apply(source, Layer("relu6", in_shape[0], in_shape[0]), node)
        if kind in ("BatchNorm2d", "BatchNorm1d"):
            if not module.affine:
                raise self._unsupported(node, "batch norm without affine parameters")
            return self._apply(source, Layer("bn", in_shape[0], in_shape[0]), node)
        if kind == "Conv2d":
            return self._apply(source, self._conv(node, module), node)
        if kind == "Linear":
            if in_shape[1:] != (1, 1):
                raise self._unsupported(node, "a linear layer on a tensor larger than 1x1")
            bias = module.bias is not None
            layer = Layer("linear", module.in_features, module.out_features, bias=bias)
            return self._apply(source, layer, node)
        if kind in ("MaxPool2d", "AvgPool2d"):
            return self._apply(source, self._pool(node, module, in_shape, out_shape), node)
        if kind in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
            pool = "avg_pool" if kind.startswith("AdaptiveAvg") else "max_pool"
            return self._apply(source, self._adaptive(node, pool, in_shape, out_shape), node)
        if kind == "Flatten":
            return self._apply(source, self._flatten(node, in_shape, out_shape), node)
        raise self._unsupported(node)

    def _function(self, node: Any, target: str, args: list[Any]) -> Any:
        kwargs = node.kwargs
        if target in ("relu", "relu_", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu"):
            kind = {"hardswish": "hswish", "hardsigmoid": "hsigmoid"}.get(target, target)
            kind = kind.rstrip("_")
            channels = self._tensor(args[0], node).shape[0]
            return self._apply(args[0], Layer(kind, channels, channels), node)
        if target in ("dropout", "stochastic_depth", "contiguous") and not isinstance(
            self.values.get(args[0]), _Reshaped
        ):
            return self._apply(args[0], None, node)
        if target in ("add", "iadd", "mul", "imul"):
            if len(args) != 2 or not all(_is_fx_node(a) for a in args):
                raise self._unsupported(node, "arithmetic with a constant")
            if target in ("add", "iadd"):
                return self._merge(node, args, "sum")
            return self._merge(node, self._gate_last(node, args), "mul")
        if target == "cat":
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            if dim != 1:
                raise self._unsupported(node, f"concatenation along dimension {dim}")
            return self._merge(node, list(args[0]), "concat")
        if target in ("chunk", "split"):
            return self._slices(node, args)
        if target == "getitem":
            value = self.values.get(args[0])
            if isinstance(value, tuple):
                return value[args[1]]
            raise self._unsupported(node, "indexing a tensor")
        if target in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
            in_shape = self._tensor(args[0], node).shape
            pool = "avg_pool" if "avg" in target else "max_pool"
            return self._apply(args[0], self._adaptive(node, pool, in_shape, _shape(node)), node)
        if target == "mean":
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            in_shape = self._tensor(args[0], node).shape
            if sorted(d % 4 for d in (dims or ())) != [2, 3]:
                raise self._unsupported(node, "a mean over other dimensions than height, width")
            return self._apply(args[0], Layer("global_avg_pool", in_shape[0], in_shape[0]), node)
        if target in ("flatten", "view", "reshape", "transpose", "permute", "contiguous"):
            return self._reshape(node, args)
        raise self._unsupported(node)

    # ------------------------------------------------------------------ layer rules
    def _conv(self, node: Any, conv: Any) -> Layer:
        kernel, stride, padding = conv.kernel_size, conv.stride, conv.padding
        if isinstance(padding, str):
            raise self._unsupported(node, f"padding={padding!r}; give explicit padding")
        if len({*kernel}) > 1 or len({*stride}) > 1 or len({*padding}) > 1:
            raise self._unsupported(node, f"non-square kernel {kernel}, stride or padding")
        if set(conv.dilation) != {1} or conv.padding_mode != "zeros":
            raise self._unsupported(node, "dilation or non-zero padding mode")
        return Layer(
            "conv",
            conv.in_channels,
            conv.out_channels,
            kernel=kernel[0],
            stride=stride[0],
            padding=padding[0],
            groups=conv.groups,
            bias=conv.bias is not None,
        )

    def _pool(self, node: Any, pool: Any, in_shape: Shape, out_shape: Shape) -> Layer:
        kernel, stride, padding = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
        if len({*kernel}) > 1 or len({*stride}) > 1 or len({*padding}) > 1:
            raise self._unsupported(node, "non-square pooling window")
        if set(_pair(getattr(pool, "dilation", 1))) != {1}:
            raise self._unsupported(node, "dilated pooling")
        kind = "max_pool" if type(pool).__name__.startswith("Max") else "avg_pool"
        size, k, s = in_shape[1], kernel[0], stride[0]
        for pad in range(padding[0], k // 2 + 1):  # ceil_mode: the padding giving torch's size
            if (size + 2 * pad - k) // s + 1 == out_shape[1]:
                include = bool(getattr(pool, "count_include_pad", False))
                return Layer(kind, in_shape[0], in_shape[0], k, s, pad, count_include_pad=include)
        raise self._unsupported(node, "a ceil_mode window no symmetric padding reproduces")

    def _adaptive(self, node: Any, kind: str, in_shape: Shape, out_shape: Shape) -> Layer | None:
        channels, height, width = in_shape
        out_h, out_w = out_shape[1:]
        if (out_h, out_w) == (height, width):
            return None
        if (out_h, out_w) == (1, 1) and kind == "avg_pool":
            return Layer("global_avg_pool", channels, channels)
        if height == width and out_h == out_w and height % out_h == 0:
            window = height // out_h
            return Layer(kind, channels, channels, window, window)
        raise self._unsupported(node, f"adaptive pooling {height}x{width} to {out_h}x{out_w}")

    def _flatten(self, node: Any, in_shape: Shape, out_shape: Shape) -> Layer | None:
        channels, height, width = in_shape
        if out_shape[1:] != (1, 1) or out_shape[0] != channels * height * width:
            raise self._unsupported(node, f"a reshape of {in_shape} to {out_shape}")
        return None if (height, width) == (1, 1) else Layer("flatten", channels, out_shape[0])

    def _reshape(self, node: Any, args: list[Any]) -> Any:
        value = self.values.get(args[0])
        rank = len(node.meta["tensor_meta"].shape)
        if isinstance(value, _Reshaped):
            if rank == 4 and _shape(node) == value.base.shape:  # the shuffle is complete
                base = self._materialize(value.base, f"{node.name}_in")
                dst = self._add_node(node.name, base.shape)
                self.edges.append(Edge(base.src, dst, Op.identity("channel_shuffle")))
                return _Pending(dst, base.shape)
            return value
        source = self._tensor(args[0], node)
        if rank == 5 and node.target in ("view", "reshape"):
            return _Reshaped(source)
        if rank in (2, 4) and node.target != "transpose" and node.target != "permute":
            out_shape = _shape(node)
            if out_shape == source.shape:
                return self._apply(args[0], None, node)
            return self._apply(args[0], self._flatten(node, source.shape, out_shape), node)
        raise self._unsupported(node, "a reshape that is neither a flatten nor a channel shuffle")

    def _slices(self, node: Any, args: list[Any]) -> tuple[_Pending, ...]:
        source = self._tensor(args[0], node)
        dim = node.kwargs.get("dim", args[2] if len(args) > 2 else 0)
        if dim != 1:
            raise self._unsupported(node, f"splitting along dimension {dim}")
        base = self._materialize(source, f"{node.name}_in")
        base_offset = base.offset
        pieces, offset = [], 0
        for meta in node.meta["tensor_meta"]:
            width = int(meta.shape[1])
            shape = (width, *base.shape[1:])
            pieces.append(_Pending(base.src, shape, (), base_offset + offset, width))
            offset += width
        return tuple(pieces)

    def _gate_last(self, node: Any, args: list[Any]) -> list[Any]:
        shapes = [self._tensor(a, node).shape for a in args]
        spatial = ((1, 1), _shape(node)[1:])
        if shapes[0][0] != shapes[1][0] or not any(s[1:] in spatial for s in shapes):
            raise self._unsupported(node, "a product other than a per-channel gate")
        return args


def _shape(node: Any) -> Shape:
    meta = node.meta.get("tensor_meta")
    shape = tuple(int(d) for d in getattr(meta, "shape", ()))
    if len(shape) == 4:
        return shape[1], shape[2], shape[3]
    if len(shape) == 2:
        return shape[1], 1, 1
    return (0, 0, 0)


def _pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _is_fx_node(value: Any) -> bool:
    return type(value).__name__ == "Node"


def _op_name(node: Any, traced: Any = None) -> str:
    if node.op == "call_module" and traced is not None:
        return type(traced.get_submodule(node.target)).__name__
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    return getattr(target, "__name__", str(target)) if target is not operator.getitem else "[]"
