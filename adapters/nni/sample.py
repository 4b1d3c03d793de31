"""NNI sample dicts: their canonical text, their checks, and drawing them, without NNI.

Shared by the adapters of NNI's model spaces (:mod:`flash_nas_adapters.nni.spaces`).
Representations this module converts between:

* **sample** -- what NNI's ``space.random(memo=sample)`` fills and ``space.freeze(sample)``
  takes: label -> value. A categorical choice holds one of its values (a str or a number); an
  input choice (NNI's ``CategoricalMultiple`` with ``n_chosen=1``, e.g. DARTS's
  ``normal/input_2_0``) holds a one-element list such as ``[1]``.
* **canonical text** -- the sample as compact JSON, labels in the space's own order (the order of
  ``space.simplify()``), no spaces: ``{"cell/0_1":"conv_3x3","cell/0_2":"none",...}``. JSON is
  the form NNI itself stores samples in, and it keeps strings, numbers and lists apart. Any JSON
  object with the same labels and values parses; :meth:`SampleCodec.text` writes the canonical one.
* **arch** -- a tuple of ints, per label in the same order the position of its value among the
  label's choices, or ``-1`` where the label does not apply to this architecture (a ProxylessNAS
  block beyond its stage's chosen depth). Hashable, and what the batched forms index with.

Nothing here imports NNI: a sample becomes a graph by pure mapping.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flash_nas import ArchFormatError
from flash_nas.errors import quote
from flash_nas.validation import ParameterError

#: Marks a label that does not apply to an architecture (see the module docstring).
UNUSED = -1


@dataclass(frozen=True)
class Label:
    """One label of an NNI space and its choices, in NNI's order.

    ``multiple``: NNI writes the chosen value inside a one-element list (an input choice).
    """

    name: str
    values: tuple[Any, ...]
    multiple: bool = False

    def index_of(self, value: Any, space: str) -> int:
        """Position of ``value`` among the choices; anything else is an ArchFormatError."""
        raw = value
        if self.multiple:
            if not isinstance(value, (list, tuple)) or len(value) != 1:
                raise ArchFormatError(
                    f"{space} sample: label {self.name!r} is an input choice and holds a "
                    f"one-element list such as [{self.values[0]!r}]; got {quote(raw)}."
                )
            value = value[0]
        for position, choice in enumerate(self.values):
            if _same(value, choice):
                return position
        shown = [[v] for v in self.values] if self.multiple else list(self.values)
        raise ArchFormatError(
            f"{space} sample: label {self.name!r} holds {quote(raw)}; expected one of "
            f"{', '.join(json.dumps(v) for v in shown)}."
        )

    def value_at(self, position: int) -> Any:
        """The value NNI writes for choice ``position``."""
        value = self.values[position]
        return [value] if self.multiple else value


def _same(value: Any, choice: Any) -> bool:
    """Equal as NNI would mean it: 16 and 16.0 agree, True is not 1, "3" is not 3."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice
    if isinstance(choice, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(choice, str) and value == choice
    if isinstance(value, numbers.Real) and isinstance(choice, numbers.Real):
        return float(value) == float(choice)
    return False


class SampleCodec:
    """The labels of one NNI space: sample <-> arch <-> canonical text."""

    def __init__(self, space: str, labels: Sequence[Label]) -> None:
        self.space = space
        self.labels = tuple(labels)
        self.names = tuple(label.name for label in self.labels)
        self.position = {name: position for position, name in enumerate(self.names)}
        if len(self.position) != len(self.names):
            raise ParameterError(f"{space}: a label is listed twice in {self.names}.")
        self.counts = np.array([len(label.values) for label in self.labels], dtype=np.int64)

    # --------------------------------------------------------------------- text
    def parse_text(self, text: str) -> dict[str, Any]:
        """The sample a text holds: a JSON object, else ArchFormatError."""
        try:
            sample = json.loads(text)
        except RecursionError:
            raise ArchFormatError(
                f"Malformed {self.space} sample ({len(text):,} characters): nested too deeply to "
                f"read; expected a JSON object of NNI labels and values, nested two levels."
            ) from None
        except (ValueError, TypeError) as exc:  # ValueError: JSON errors, ints of 4,300+ digits
            raise ArchFormatError(
                f"Malformed {self.space} sample {quote(text)}: expected a JSON object of NNI "
                f'labels and values such as {{"{self.names[0]}": '
                f"{json.dumps(self.labels[0].value_at(0))}, ...}} ({exc})."
            ) from None
        if not isinstance(sample, dict):
            raise ArchFormatError(
                f"Malformed {self.space} sample {quote(text)}: expected a JSON object (label -> "
                f"value), got a JSON {type(sample).__name__}."
            )
        return sample

    def text(self, arch: Sequence[int]) -> str:
        """The canonical text of ``arch``."""
        return json.dumps(self.decode(arch), separators=(",", ":"))

    # ----------------------------------------------------------- sample <-> arch
    def encode(self, sample: Mapping[str, Any], optional: Collection[str] = ()) -> tuple[int, ...]:
        """The arch of ``sample``; labels in ``optional`` may be missing (they become -1).

        Unknown labels, missing labels and values that are not among a label's choices are
        ArchFormatErrors naming them.
        """
        if not isinstance(sample, Mapping):
            raise ArchFormatError(
                f"A {self.space} sample is a mapping of NNI labels to values; got "
                f"{type(sample).__name__} {sample!r}."
            )
        unknown = [label for label in sample if label not in self.position]
        missing = [name for name in self.names if name not in sample and name not in optional]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"unknown label(s) {', '.join(map(repr, unknown))}")
            if missing:
                parts.append(f"missing label(s) {', '.join(map(repr, missing))}")
            raise ArchFormatError(
                f"{self.space} sample: {'; '.join(parts)}. The space's labels are: "
                f"{', '.join(self.names)}."
            )
        return tuple(
            label.index_of(sample[label.name], self.space) if label.name in sample else UNUSED
            for label in self.labels
        )

    def decode(self, arch: Sequence[int]) -> dict[str, Any]:
        """The sample of ``arch`` (labels marked -1 left out), in label order."""
        checked = self.check(arch)
        return {
            label.name: label.value_at(position)
            for label, position in zip(self.labels, checked)
            if position != UNUSED
        }

    def check(self, arch: Sequence[int]) -> tuple[int, ...]:
        """``arch`` as a validated tuple: one int per label, a choice position or -1."""
        try:
            values = tuple(arch)
        except TypeError:
            values = ()
        if len(values) != len(self.labels) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and UNUSED <= v < count
            for v, count in zip(values, self.counts)
        ):
            raise ArchFormatError(
                f"A {self.space} arch is a tuple of {len(self.labels)} choice positions (labels "
                f"{self.names[0]}..{self.names[-1]}, -1 where a label does not apply); got "
                f"{quote(arch)}."
            )
        return tuple(int(v) for v in values)

    # ------------------------------------------------------------------ drawing
    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of choice positions, every label uniform and independent (as NNI's
        ``space.random()`` draws): shape ``(n, labels)``."""
        return rng.integers(0, self.counts, size=(n, len(self.labels)))


def check_sample_size(n: Any, size: int | None = None) -> int:
    """``n`` as a sample size: an int >= 1 (and <= ``size`` where given)."""
    if (
        not isinstance(n, (int, np.integer))
        or isinstance(n, bool)
        or n < 1
        or (size is not None and n > size)
    ):
        upper = f"1..{size:,}" if size is not None else ">= 1"
        raise ParameterError(f"The sample size must be an int in {upper}. Got {n!r}.")
    return int(n)
