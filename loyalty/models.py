"""Loyalty's value types: a programme and its rules, a member's balance, lots, spends and history.

Earning and its rounding (one place, used by the scripts' Python twin in tests too):

- An order earns `floor(paid_fen x earn_bp / 10000)` points: rounded down, so the points given never
  exceed the rate (the default 1000 bp gives 10% of the paid amount, one point per 10 fen spent).
- After refunds an order keeps what its net amount would earn, `floor((paid - refunded) x earn_bp /
  10000)`: a refund takes back the difference, so any sequence of partial refunds ends exactly where
  one refund of the same total would, and a full refund takes back every point.
- Points taken back after they became available come out of the order's own lot first, then the
  member's other lots (earliest expiring first); what the member has already spent is recorded as a
  debt (never a negative balance), repaid from the next points the member gets.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field

from core.errors import FieldViolation
from core.localtime import DEFAULT_ZONE, zone_violation
from core.validation import count_violation, duplicate_violations, id_violation

BASIS_POINTS = 10_000
DEFAULT_EARN_BP = 1_000
DEFAULT_EXPIRY_MONTHS = 12
MAX_MERCHANTS = 200
MAX_SPEND_POINTS = 10_000_000
MAX_REWARD_POINTS = 100_000
MAX_REWARDS = 50


class ProgrammeKind(enum.StrEnum):
    MERCHANT = "merchant"
    CHAIN = "chain"
    ALLIANCE = "alliance"


@dataclass(frozen=True)
class Reward:
    """A catalogue entry: the coupon of `campaign_id` for `points_cost` points (the threshold that unlocks it)."""

    reward_id: str
    points_cost: int
    campaign_id: str


class OrderState(enum.IntEnum):
    """How far an order has gone, as its points follow it (stored as the number)."""

    NONE = 0
    PAID = 1
    COMPLETED = 2


@dataclass(frozen=True)
class Programme:
    """A loyalty programme and its rules (defaults applied by `with_defaults`)."""

    programme_id: str
    kind: ProgrammeKind
    merchant_ids: tuple[str, ...]
    earn_bp: int = DEFAULT_EARN_BP
    point_value_fen: int = 1
    expiry_months: int = DEFAULT_EXPIRY_MONTHS
    time_zone: str = DEFAULT_ZONE
    signin_points: int = 0
    streak_days: int = 0
    streak_bonus_points: int = 0
    grace_days: int = 0
    referrer_points: int = 0
    referee_points: int = 0
    rewards: tuple[Reward, ...] = ()
    created_ms: int = 0

    def violations(self, prefix: str = "programme.") -> list[FieldViolation]:
        p = prefix
        out = [v for v in (id_violation(f"{p}programme_id", self.programme_id),) if v]
        limit = 1 if self.kind is ProgrammeKind.MERCHANT else MAX_MERCHANTS
        if bad := count_violation(f"{p}merchant_ids", self.merchant_ids, limit, min_items=1):
            out.append(bad)
        else:
            out += [v for i, m in enumerate(self.merchant_ids) if (v := id_violation(f"{p}merchant_ids[{i}]", m))]
            out += duplicate_violations(f"{p}merchant_ids", self.merchant_ids)
        for name, lo, hi in (
            ("earn_bp", 1, BASIS_POINTS), ("point_value_fen", 1, 10_000), ("expiry_months", 1, 120),
            ("signin_points", 0, 1_000), ("streak_days", 0, 366), ("streak_bonus_points", 0, MAX_REWARD_POINTS),
            ("grace_days", 0, 30), ("referrer_points", 0, MAX_REWARD_POINTS), ("referee_points", 0, MAX_REWARD_POINTS),
        ):  # fmt: skip
            value = getattr(self, name)
            if not lo <= value <= hi:
                out.append(FieldViolation(f"{p}{name}", f"must be within [{lo}, {hi}], got {value}"))
        if self.streak_bonus_points and not self.streak_days:
            out.append(FieldViolation(f"{p}streak_days", "required with streak_bonus_points"))
        if bad := zone_violation(f"{p}time_zone", self.time_zone):
            out.append(bad)
        if bad := count_violation(f"{p}rewards", self.rewards, MAX_REWARDS):
            out.append(bad)
        else:
            for i, r in enumerate(self.rewards):
                out += [v for v in (id_violation(f"{p}rewards[{i}].reward_id", r.reward_id),
                                    id_violation(f"{p}rewards[{i}].campaign_id", r.campaign_id)) if v]  # fmt: skip
                if not 1 <= r.points_cost <= MAX_SPEND_POINTS:
                    out.append(
                        FieldViolation(f"{p}rewards[{i}].points_cost", f"must be within [1, {MAX_SPEND_POINTS}]")
                    )
            out += duplicate_violations(f"{p}rewards", (r.reward_id for r in self.rewards), ".reward_id")
        return out

    def body(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("created_ms")
        d["kind"] = self.kind.value
        d["merchant_ids"] = list(self.merchant_ids)
        d["rewards"] = [list(asdict(r).values()) for r in self.rewards]
        return d

    def fingerprint(self) -> str:
        raw = json.dumps(self.body(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.body(), "created_ms": self.created_ms}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Programme:
        d = json.loads(raw)
        d["kind"] = ProgrammeKind(d["kind"])
        d["merchant_ids"] = tuple(d["merchant_ids"])
        d["rewards"] = tuple(Reward(*r) for r in d.get("rewards", ()))
        return cls(**d)

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.reward_id == reward_id), None)


def order_points(paid_fen: int, refunded_fen: int, earn_bp: int) -> int:
    """What an order earns after its refunds: floor((paid - refunded) x earn_bp / 10000)."""
    return (paid_fen - refunded_fen) * earn_bp // BASIS_POINTS


@dataclass(frozen=True)
class OrderPoints:
    order_id: str
    programme_id: str
    member_id: str
    points: int  # kept after refunds
    reversed_points: int
    state: OrderState
    debt_points: int


@dataclass(frozen=True)
class LotUse:
    lot_id: str
    issuer: str
    points: int
    expires_ms: int


@dataclass(frozen=True)
class Spend:
    key: str
    member_id: str
    merchant_id: str
    points: int
    value_fen: int
    order_id: str
    spent_ms: int
    lots: tuple[LotUse, ...]
    refunded: bool = False

    @classmethod
    def from_json(cls, key: str, raw: str, refunded: bool) -> Spend:
        d = json.loads(raw)
        uses = tuple(LotUse(u[0], u[1], int(u[2]), int(u[3])) for u in d["u"])
        return cls(key, d["m"], d["at"], int(d["p"]), int(d["v"]), d["o"], int(d["t"]), uses, refunded)


@dataclass(frozen=True)
class Expiry:
    expires_ms: int
    points: int


@dataclass(frozen=True)
class Balance:
    programme_id: str
    member_id: str
    available: int
    pending: int
    debt: int
    expiries: tuple[Expiry, ...] = ()
    streak: int = 0
    last_signin_day: str = ""
    unlocked_reward_ids: tuple[str, ...] = ()


class EntryKind(enum.StrEnum):
    ORDER_PENDING = "order_pending"
    ORDER_AVAILABLE = "order_available"
    ORDER_REVERSED = "order_reversed"
    SPEND = "spend"
    SPEND_REFUNDED = "spend_refunded"
    SIGNIN = "signin"
    REFERRAL = "referral"
    EXPIRED = "expired"
    DEBT_REPAID = "debt_repaid"


@dataclass(frozen=True)
class HistoryEntry:
    entry_id: str
    kind: EntryKind
    available_delta: int
    pending_delta: int
    debt_delta: int
    reference: str
    merchant_id: str
    occurred_ms: int

    @classmethod
    def from_json(cls, member_id: str, raw: str) -> HistoryEntry:
        n, kind, a, p, d, ref, merchant, t = json.loads(raw)
        return cls(f"{member_id}#{n}", EntryKind(kind), int(a), int(p), int(d), ref, merchant, int(t))


@dataclass(frozen=True)
class SignIn:
    day: str
    streak: int
    points: int
    signed_in_now: bool


@dataclass(frozen=True)
class Claim:
    creditor: str
    debtor: str  # "" for the programme itself (sign-in points)
    points: int
    amount_fen: int


@dataclass(frozen=True)
class ExpiryRun:
    lots_expired: int = 0
    points_expired: int = 0
    more: bool = False
    members: list[str] = field(default_factory=list)
