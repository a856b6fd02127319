"""New MDRP instances from a dev instance, along the axes the published family varies, for checking that
a policy's results hold beyond the four dev instances (the family has 240 members; we hold four).

The family (Reyes et al. 2018) crosses, per seed day, order sampling (all orders, half the orders, or the
orders of half the restaurants), travel speed (x 1 or x 0.75 travel times), courier schedule and prep time
(x 1 or x 1.25). `vary` applies the same kinds of change to an instance we hold, seeded:

| factor | what |
|---|---|
| `o50` | a seeded half of the orders, and of the couriers (the load per courier stays as it was) |
| `r50` | only the orders of a seeded half of the restaurants, and a seeded half of the couriers |
| `t75` | travel times x 0.75 (metres per minute / 0.75) |
| `t133` | travel times x 1 / 0.75 (undoes a `t75` instance's speed) |
| `p125` | prep times x 1.25 (ready = placement + round(1.25 x prep), whole minutes as in the files) |
| `p80` | prep times x 0.8 (undoes a `p125` instance's prep) |
| `dropN` | N% of the orders left out at random (N 1-50): the same day, slightly perturbed |

Variants are approximations of the family's members, not copies: the published o50 instances, for
one, were sampled by the authors with their own rule. They serve as unseen instances of the same
kind; the name records how each was made (`0o100t100s1p100+t75+drop2@3`).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from bench.mdrp.instance import Instance

_DROP = re.compile(r"^drop(\d+)$")
FACTORS = ("o50", "r50", "t75", "t133", "p125", "p80", "dropN")


def _half(ids: list[str], rng: random.Random) -> set[str]:
    return set(rng.sample(sorted(ids), max(1, len(ids) // 2)))


def _scale_prep(instance: Instance, factor: float) -> Instance:
    orders = {
        k: replace(o, ready_min=o.placement_min + round(factor * (o.ready_min - o.placement_min)))
        for k, o in instance.orders.items()
    }
    return replace(instance, orders=orders)


def variant_name(name: str, factors: list[str], seed: int) -> str:
    """The name of an instance's variant: `0o100t100s1p100+t75+drop2@3` (the instance's own without factors)."""
    return name + "".join(f"+{f}" for f in factors) + (f"@{seed}" if factors else "")


def vary(instance: Instance, factors: list[str], seed: int) -> Instance:
    """The instance changed by each factor in turn (see the module docstring), with `seed` for the
    random ones. Raises ValueError naming an unknown factor or an empty result."""
    rng = random.Random(seed)
    out = instance
    for f in factors:
        drop = _DROP.match(f)
        if f == "o50":
            keep = _half(list(out.orders), rng)
            couriers = _half(list(out.couriers), rng)
            out = replace(out, orders={k: o for k, o in out.orders.items() if k in keep},
                          couriers={k: c for k, c in out.couriers.items() if k in couriers})  # fmt: skip
        elif f == "r50":
            keep = _half(list(out.restaurants), rng)
            couriers = _half(list(out.couriers), rng)
            out = replace(out, orders={k: o for k, o in out.orders.items() if o.restaurant in keep},
                          couriers={k: c for k, c in out.couriers.items() if k in couriers})  # fmt: skip
        elif f in ("t75", "t133"):
            speed = out.params.meters_per_minute / (0.75 if f == "t75" else 1 / 0.75)
            out = replace(out, params=replace(out.params, meters_per_minute=speed))
        elif f in ("p125", "p80"):
            out = _scale_prep(out, 1.25 if f == "p125" else 0.8)
        elif drop and 1 <= int(drop.group(1)) <= 50:
            n = len(out.orders)
            gone = set(rng.sample(sorted(out.orders), round(n * int(drop.group(1)) / 100)))
            out = replace(out, orders={k: o for k, o in out.orders.items() if k not in gone})
        else:
            raise ValueError(f"unknown variant factor {f!r} (known: {', '.join(FACTORS)}, N 1-50)")
    if not out.orders or not out.couriers:
        raise ValueError(f"variant {'+'.join(factors)} of {instance.name} leaves no orders or no couriers")
    return replace(out, name=variant_name(instance.name, factors, seed))
