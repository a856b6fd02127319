"""Hypothesis strategies for any protobuf request, built from its descriptor alone.

Every field of every message gets values of three kinds: adversarial ones (empty, huge, control
characters, other scripts' digits, NaN and infinities, the extremes of each integer type, Timestamps at
and past the ends of their range, unknown enum numbers, repeated fields duplicated or far too long),
plausible ones (anything of that field's name seen in an earlier reply or a seed: ids, event ids, amounts,
the city's coordinates, instants near the server's clock), and random ones. A request is either drawn
whole or is an accepted request of the same RPC with one or two fields replaced, which is how a single bad
field among good ones is reached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor as d
from google.protobuf.message import Message
from hypothesis import strategies as st

FD = d.FieldDescriptor
TIMESTAMP = "google.protobuf.Timestamp"
MAX_DEPTH = 4
# Values a careless or hostile client sends; each has broken some service somewhere.
HUGE_STRING = "x" * 1_000_000
ADVERSARIAL_STRINGS = (
    "", " ", "\n", "o1\n", "o1\r\n", "\to1", "o1 ", "\x00", "a\x00b", "\x1b[31m", "\u202eo1", "\ufeffo1",
    "١٢٣", "١٧٠٠٠٠٠٠٠٠٠٠٠-٠", "１２３", "18446744073709551616-0", "0-18446744073709551616",
    "99999999999999999999999-0", "0-0", "1-1", "-1-1", "1-", "$", "+", "-", "*", "?", "[", "{z}", "tc:{money}:x",
    "a" * 128, "a" * 129, "x" * 4096, HUGE_STRING, "../../etc/passwd", "%s%n%x", "${jndi:ldap://x}",
    "' OR 1=1 --", "null", "NaN", "-0", "9999-12-31", "0001-01-01", "2026-02-30", "2026-2-3", "20261205",
    "merchant:", "merchant:m1", "rider:fleet", "platform:tongcheng", "订单", "🚀", "ｏ１",
)  # fmt: skip
INT32_EXTREMES = (0, -1, 1, 2**31 - 1, -(2**31), 2**15, 10_000, 10_001)
INT64_EXTREMES = (*INT32_EXTREMES, 2**63 - 1, -(2**63), 2**53, 2**53 + 1, 10**12, 10_000_000_001)
UINT32_EXTREMES = (0, 1, 2**32 - 1, 2**31)
UINT64_EXTREMES = (0, 1, 2**64 - 1, 2**63)
DOUBLE_EXTREMES = (
    0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 90.0, 90.0000001, -90.0, 180.0, -180.000001,
    1e-9, 0.1, 0.2, 1.0, 20.0, 20.0001, 100.0, 360.0, 100_000.0,
)  # fmt: skip
# Timestamps (seconds, nanos) at and past the ends of google.protobuf.Timestamp's range.
TIMESTAMP_EXTREMES = (
    (0, 0), (1, 0), (-1, 0), (0, -1), (0, 1_000_000_000), (946_684_799, 999_999_999), (253_402_300_799, 999_999_999),
    (253_402_300_800, 0), (-62_135_596_800, 0), (-62_135_596_801, 0), (2**63 - 1, 0), (-(2**63), 0), (4_102_444_800, 0),
)  # fmt: skip
REPEATED_COUNTS = (501, 1_001, 20_001, 200_000)


@dataclass
class Pools:
    """Values seen so far, by field name: seeds and every accepted reply add to them."""

    now_ms: Callable[[], int]
    strings: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, list[float]] = field(default_factory=dict)
    max_per_name: int = 200

    def add_string(self, name: str, value: str) -> None:
        if not value or len(value) > 200:
            return
        values = self.strings.setdefault(name, [])
        if value not in values:
            values.append(value)
            if len(values) > self.max_per_name:
                del values[0]

    def add_number(self, name: str, value: float) -> None:
        values = self.numbers.setdefault(name, [])
        if value not in values:
            values.append(value)
            if len(values) > self.max_per_name:
                del values[0]

    def strings_for(self, name: str) -> list[str]:
        """Seen values of this field, or of a field whose name ends this one's (`event_id` for
        `resume_after_event_id`), or of any field of a shared last word (`order_id` for `id`)."""
        exact = self.strings.get(name)
        if exact:
            return exact
        out = [v for k, vs in self.strings.items() if name.endswith(k) or k.endswith(name) for v in vs]
        if out:
            return out
        last = name.rsplit("_", 1)[-1]
        return [v for k, vs in self.strings.items() if k.rsplit("_", 1)[-1] == last for v in vs]

    def numbers_for(self, name: str) -> list[float]:
        last = name.rsplit("_", 1)[-1]
        return self.numbers.get(name) or [
            v for k, vs in self.numbers.items() if k.rsplit("_", 1)[-1] == last for v in vs
        ]

    def harvest(self, msg: Message, depth: int = 0) -> None:
        """Adds every string and number of a reply (nested messages too) to the pools."""
        if depth > MAX_DEPTH:
            return
        for fd, value in msg.ListFields():
            values = value if fd.is_repeated else [value]
            for v in list(values)[:50]:
                if fd.type == FD.TYPE_MESSAGE:
                    if fd.message_type.full_name == TIMESTAMP:
                        continue
                    if not fd.message_type.GetOptions().map_entry:
                        self.harvest(v, depth + 1)
                elif fd.type == FD.TYPE_STRING:
                    self.add_string(fd.name, v)
                elif fd.type in _NUMERIC and not isinstance(v, bool):
                    self.add_number(fd.name, v)


_NUMERIC = {
    FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_SINT32, FD.TYPE_SINT64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64,
    FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_DOUBLE, FD.TYPE_FLOAT,
}  # fmt: skip
_INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1, INT32_EXTREMES),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1, INT32_EXTREMES),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1, INT32_EXTREMES),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1, INT64_EXTREMES),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1, INT64_EXTREMES),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1, INT64_EXTREMES),
    FD.TYPE_UINT32: (0, 2**32 - 1, UINT32_EXTREMES),
    FD.TYPE_FIXED32: (0, 2**32 - 1, UINT32_EXTREMES),
    FD.TYPE_UINT64: (0, 2**64 - 1, UINT64_EXTREMES),
    FD.TYPE_FIXED64: (0, 2**64 - 1, UINT64_EXTREMES),
}


# Draws never depend on what the pools or the corpus hold (Hypothesis requires the same choices to draw
# the same way every time): an index is drawn from a fixed range and taken modulo what is there.
INDEX = st.integers(0, 2**20)


def _pick(values: Callable[[], list[Any]], fallback: Any) -> st.SearchStrategy[Any]:
    """One of the values the pool holds when drawn (the pools grow as the run goes), else the fallback."""

    def pick(i: int) -> Any:
        seen = values()
        return seen[i % len(seen)] if seen else fallback

    return INDEX.map(pick)


class RequestStrategies:
    """Strategies for the fields and messages of one descriptor pool, sharing one set of pools."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools

    # Scalars ---------------------------------------------------------------------------------

    def scalar(self, fd: d.FieldDescriptor) -> st.SearchStrategy[Any]:
        name = fd.name
        t = fd.type
        if t == FD.TYPE_STRING:
            return st.one_of(
                _pick(lambda: self.pools.strings_for(name), "o1"),
                st.sampled_from(ADVERSARIAL_STRINGS),
                st.from_regex(r"[A-Za-z0-9._:\-]{1,12}", fullmatch=True),
                st.text(max_size=24),
            )
        if t == FD.TYPE_BYTES:
            return st.binary(max_size=64)
        if t == FD.TYPE_BOOL:
            return st.booleans()
        if t == FD.TYPE_ENUM:
            numbers = [v.number for v in fd.enum_type.values]
            return st.one_of(st.sampled_from(numbers), st.integers(-3, 64), st.sampled_from([2**31 - 1, -(2**31)]))
        if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
            width = 64 if t == FD.TYPE_DOUBLE else 32
            seen = _pick(lambda: self.pools.numbers_for(name), 1.0)
            return st.one_of(
                st.sampled_from(DOUBLE_EXTREMES),
                st.floats(width=width),
                st.tuples(seen, st.floats(-0.02, 0.02)).map(lambda p: float(p[0]) + p[1]),
                seen.map(float),
            ).map(lambda x: _fit_float(x, width))
        lo, hi, extremes = _INT_RANGES[t]
        return st.one_of(
            st.integers(max(lo, -3), min(hi, 1_100)),
            st.sampled_from([x for x in extremes if lo <= x <= hi]),
            st.integers(lo, hi),
            _pick(lambda: [int(x) for x in self.pools.numbers_for(name) if lo <= x <= hi], 1),
            st.integers(max(lo, 0), min(hi, 10_000_000)),
        )

    def timestamp(self) -> st.SearchStrategy[tuple[int, int]]:
        """(seconds, nanos): near the server's clock (most), or at and past the ends of the range."""

        @st.composite
        def near_now(draw: st.DrawFn) -> tuple[int, int]:
            ms = self.pools.now_ms() + draw(
                st.one_of(st.integers(-120_000, 120_000), st.integers(-3 * 86_400_000, 40 * 86_400_000))
            )
            return ms // 1000, (ms % 1000) * 1_000_000

        return st.one_of(near_now(), near_now(), st.sampled_from(TIMESTAMP_EXTREMES))

    # Messages --------------------------------------------------------------------------------

    def message(
        self, desc: d.Descriptor, cls_of: Callable[[d.Descriptor], type[Message]]
    ) -> st.SearchStrategy[Message]:
        @st.composite
        def build(draw: st.DrawFn) -> Message:
            msg = cls_of(desc)()
            self._fill(draw, msg, 0, cls_of)
            return msg

        return build()

    def _fill(self, draw: st.DrawFn, msg: Message, depth: int, cls_of: Callable[[d.Descriptor], type[Message]]) -> None:
        for fd in msg.DESCRIPTOR.fields:
            if draw(st.integers(0, 9)) < 3:  # a field left unset three times in ten
                continue
            self._set_field(draw, msg, fd, depth, cls_of)

    def _set_field(
        self, draw: st.DrawFn, msg: Message, fd: d.FieldDescriptor, depth: int,
        cls_of: Callable[[d.Descriptor], type[Message]],
    ) -> None:  # fmt: skip
        if fd.is_repeated:
            if fd.type == FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
                self._fill_map(draw, msg, fd, depth, cls_of)
                return
            target = getattr(msg, fd.name)
            mode = draw(st.sampled_from(("few", "few", "few", "none", "twice", "many")))
            if mode == "none":
                return
            # Inside a message that is itself one of many, "many" stays at 1,001 at most: 200,000 entries at
            # two levels would be 4e10 messages built in the fuzzer's memory, never a request a server sees.
            many = REPEATED_COUNTS if depth == 0 else REPEATED_COUNTS[:2]
            count = {"few": draw(st.integers(1, 4)), "twice": 2, "many": draw(st.sampled_from(many))}[mode]
            distinct = 1 if mode in ("twice", "many") else count
            values = [self._value(draw, fd, depth, cls_of) for _ in range(distinct)]
            if fd.type == FD.TYPE_MESSAGE:
                target.extend(values[i % distinct] for i in range(count))
            else:
                target.extend(_fit(fd, values[i % distinct]) for i in range(count))
            return
        value = self._value(draw, fd, depth, cls_of)
        if fd.type == FD.TYPE_MESSAGE:
            getattr(msg, fd.name).CopyFrom(value)
        else:
            setattr(msg, fd.name, _fit(fd, value))

    def _fill_map(
        self, draw: st.DrawFn, msg: Message, fd: d.FieldDescriptor, depth: int,
        cls_of: Callable[[d.Descriptor], type[Message]],
    ) -> None:  # fmt: skip
        key_fd = fd.message_type.fields_by_name["key"]
        value_fd = fd.message_type.fields_by_name["value"]
        target = getattr(msg, fd.name)
        for _ in range(draw(st.integers(0, 3))):
            key = _fit(key_fd, draw(self.scalar(key_fd)))
            if value_fd.type == FD.TYPE_MESSAGE:
                target[key].CopyFrom(self._value(draw, value_fd, depth, cls_of))
            else:
                target[key] = _fit(value_fd, draw(self.scalar(value_fd)))

    def _value(
        self, draw: st.DrawFn, fd: d.FieldDescriptor, depth: int, cls_of: Callable[[d.Descriptor], type[Message]]
    ) -> Any:
        if fd.type != FD.TYPE_MESSAGE:
            return draw(self.scalar(fd))
        sub = cls_of(fd.message_type)()
        if fd.message_type.full_name == TIMESTAMP:
            sub.seconds, sub.nanos = draw(self.timestamp())
        elif depth < MAX_DEPTH:
            self._fill(draw, sub, depth + 1, cls_of)
        return sub

    # Mutations of accepted requests ------------------------------------------------------------

    def mutate(self, draw: st.DrawFn, request: Message, cls_of: Callable[[d.Descriptor], type[Message]]) -> Message:
        """A copy of an accepted request with one or two fields replaced, cleared or repeated.

        Every mutation draws the same things (a field index, an action, and one value of every kind),
        whatever the request holds, and then uses the value of the chosen field's kind."""
        out = type(request)()
        out.CopyFrom(request)
        for _ in range(draw(st.integers(1, 2))):
            where = draw(INDEX)
            action = draw(st.sampled_from(("replace", "replace", "replace", "clear", "repeat")))
            values = {
                "string": draw(self._any_string),
                "int": draw(self._any_int),
                "double": draw(self._any_double),
                "bool": draw(st.booleans()),
                "enum": draw(st.one_of(st.integers(-3, 64), st.sampled_from([2**31 - 1, -(2**31)]))),
                "timestamp": draw(self.timestamp()),
                "count": draw(st.sampled_from((0, 1, 2, 2, *REPEATED_COUNTS))),
            }
            paths = list(_field_paths(out))
            if not paths:
                break
            parent, fd = paths[where % len(paths)]
            _apply(parent, fd, action, values, cls_of)
        return out

    @property
    def _any_string(self) -> st.SearchStrategy[str]:
        return st.one_of(
            st.sampled_from(ADVERSARIAL_STRINGS),
            _pick(lambda: [v for vs in self.pools.strings.values() for v in vs], "o1"),
            st.text(max_size=24),
        )

    @property
    def _any_int(self) -> st.SearchStrategy[int]:
        return st.one_of(st.integers(-3, 1_100), st.sampled_from(INT64_EXTREMES + UINT64_EXTREMES), st.integers())

    @property
    def _any_double(self) -> st.SearchStrategy[float]:
        return st.one_of(st.sampled_from(DOUBLE_EXTREMES), st.floats())


def _apply(
    parent: Message, fd: d.FieldDescriptor, action: str, values: dict[str, Any],
    cls_of: Callable[[d.Descriptor], type[Message]],
) -> None:  # fmt: skip
    """One mutation of one field, with the drawn value of its kind."""
    repeated = fd.is_repeated
    is_map = fd.type == FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry
    if action == "clear" or is_map:
        parent.ClearField(fd.name)
        return
    if repeated:
        items = getattr(parent, fd.name)
        if action == "repeat" and len(items):
            first = items[0]
            for _ in range(max(1, values["count"])):
                items.add().CopyFrom(first) if fd.type == FD.TYPE_MESSAGE else items.append(first)
            return
        parent.ClearField(fd.name)
        if fd.type == FD.TYPE_MESSAGE:
            for _ in range(values["count"]):
                items.add()
            return
        value = _scalar_of(fd, values)
        if value is not None:
            items.extend([value] * values["count"])
        return
    if fd.type == FD.TYPE_MESSAGE:
        sub = getattr(parent, fd.name)
        if fd.message_type.full_name == TIMESTAMP:
            sub.seconds, sub.nanos = values["timestamp"]
        else:
            sub.Clear()
            sub.SetInParent()
        return
    value = _scalar_of(fd, values)
    if value is not None:
        setattr(parent, fd.name, value)


def _scalar_of(fd: d.FieldDescriptor, values: dict[str, Any]) -> Any:
    t = fd.type
    if t == FD.TYPE_STRING:
        return values["string"]
    if t == FD.TYPE_BOOL:
        return values["bool"]
    if t == FD.TYPE_ENUM:
        return values["enum"]
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return _fit_float(values["double"], 64 if t == FD.TYPE_DOUBLE else 32)
    if t == FD.TYPE_BYTES:
        return values["string"].encode()[:64]
    return _fit(fd, values["int"])


def _field_paths(msg: Message, depth: int = 0) -> Iterator[tuple[Message, d.FieldDescriptor]]:
    """Every (message, field) of a request, nested messages and the first entry of repeated ones included."""
    for fd in msg.DESCRIPTOR.fields:
        yield msg, fd
        if depth >= MAX_DEPTH or fd.type != FD.TYPE_MESSAGE or fd.message_type.full_name == TIMESTAMP:
            continue
        if fd.is_repeated:
            items = getattr(msg, fd.name)
            if len(items) and not fd.message_type.GetOptions().map_entry:
                yield from _field_paths(items[0], depth + 1)
        elif msg.HasField(fd.name):
            yield from _field_paths(getattr(msg, fd.name), depth + 1)


def _fit_float(x: float, width: int) -> float:
    """A 32-bit float field cannot hold a double's range: its extremes become infinities, as on the wire."""
    if width == 32 and math.isfinite(x) and abs(x) > 3.4e38:
        return math.copysign(math.inf, x)
    return x


def _fit(fd: d.FieldDescriptor, value: Any) -> Any:
    """A drawn value made assignable to the field (an integer outside the type's range wraps as on the wire)."""
    if fd.type in _INT_RANGES and isinstance(value, int):
        lo, hi, _ = _INT_RANGES[fd.type]
        if not lo <= value <= hi:
            span = hi - lo + 1
            value = (value - lo) % span + lo
    return value
