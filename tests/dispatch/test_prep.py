"""The prep-time model against a real redis-server, on synthetic merchants with known truths."""

from __future__ import annotations

import math
import random
import statistics

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import truncnorm

from dispatch.prep import CATEGORY_PRIORS, PrepConfig, PrepEstimate, PrepModel, still_cooking
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

ZONE = "testcity"
H = 3600 * 1000  # one hour in ms
T0 = 1_780_000_000_000 - (1_780_000_000_000 % (24 * H))  # a UTC midnight


@pytest.fixture
async def client(redis_server: EmbeddedRedis, redis_sync: redis.Redis):  # type: ignore[no-untyped-def]
    c = redis_client(redis_server.url)
    yield c
    await c.aclose()


@pytest.fixture
def model(client) -> PrepModel:  # type: ignore[no-untyped-def]
    return PrepModel(client, ZONE)


def prep_s(e: PrepEstimate, placed_ms: int) -> float:
    return (e.ready_at_ms - placed_ms) / 1000


async def feed(model: PrepModel, merchant: str, n: int, mean_s: float, sigma: float, rng: random.Random,
               start_ms: int = T0, every_ms: int = 20 * 60 * 1000, category: str = "") -> int:  # fmt: skip
    """n orders one after another (no backlog), lognormal prep around mean_s; returns the next time."""
    t = start_ms
    for _ in range(n):
        oid = f"{merchant}-{t}"
        await model.on_placed(merchant, oid, t, 1, category)
        y = mean_s * math.exp(rng.gauss(0, sigma) - sigma**2 / 2)
        await model.on_ready(merchant, oid, t + round(y * 1000))
        t += every_ms
    return t


async def test_cold_start_is_the_category_prior(model: PrepModel) -> None:
    """An unseen merchant gets its category's prior mean and spread; unknown categories the default."""
    prior = CATEGORY_PRIORS["pharmacy"]
    e = await model.predict("m-new", T0, 1, "pharmacy")
    assert e.samples == 0
    assert prep_s(e, T0) == pytest.approx(prior.mean_s, abs=0.01)
    # at W=0 the predictive variance is within + between merchants
    expected_sd = prior.mean_s * math.sqrt(prior.order_cv**2 + (prior.merchant_sd_s / prior.mean_s) ** 2)
    assert e.sd_s == pytest.approx(expected_sd, rel=1e-6)
    placed = await model.on_placed("m-new", "o1", T0, 1, "Pharmacy")
    assert placed == e
    unknown = await model.predict("m-other", T0, 1, "spaceport")
    assert prep_s(unknown, T0) == pytest.approx(CATEGORY_PRIORS["default"].mean_s, abs=0.01)
    assert prep_s(await model.predict("m-other", T0), T0) == pytest.approx(CATEGORY_PRIORS["default"].mean_s, abs=0.01)


async def test_learning_converges_to_the_merchants_mean(model: PrepModel) -> None:
    """A merchant far from its category's prior (25 min vs 9) is learnt: mean within 6 %, sd within 30 %."""
    rng = random.Random(3)
    true_mean, sigma = 25 * 60.0, 0.3
    t = await feed(model, "m1", 250, true_mean, sigma, rng, category="fast_food")
    e = await model.predict("m1", t, 1, "fast_food")
    assert e.samples == 250
    assert prep_s(e, t) == pytest.approx(true_mean, rel=0.06)
    true_sd = true_mean * math.sqrt(math.exp(sigma**2) - 1)
    assert e.sd_s == pytest.approx(true_sd, rel=0.3)
    # a handful of orders already moves most of the way from the prior
    rng2 = random.Random(4)
    t2 = await feed(model, "m2", 5, true_mean, sigma, rng2, category="fast_food")
    early = prep_s(await model.predict("m2", t2, 1, "fast_food"), t2)
    assert abs(early - true_mean) < 0.35 * abs(CATEGORY_PRIORS["fast_food"].mean_s - true_mean)


async def test_spread_is_calibrated(model: PrepModel) -> None:
    """Merchants far steadier than the default prior assumes (sigma 0.12 vs cv 0.45): after a start,
    +-1 sd of the estimates made at placement covers close to 68 % of true prep times, +-2 sd ~95 %."""
    rng = random.Random(23)
    means = {f"m{i}": rng.uniform(480, 1080) for i in range(40)}
    inside1 = inside2 = total = 0
    t = T0
    for rnd in range(15):
        for m, mean in means.items():
            e = await model.on_placed(m, f"{m}-{t}", t, 1)
            y = mean * math.exp(rng.gauss(0, 0.12) - 0.0072)
            if rnd >= 5:
                err = abs(prep_s(e, t) - y)
                inside1 += err <= e.sd_s
                inside2 += err <= 2 * e.sd_s
                total += 1
            await model.on_ready(m, f"{m}-{t}", t + round(y * 1000))
        t += 30 * 60_000
    assert 0.6 <= inside1 / total <= 0.78
    assert 0.9 <= inside2 / total <= 0.98


async def test_level_tracks_drift(model: PrepModel) -> None:
    """After a kitchen slows from 10 to 20 min, the estimate follows within 100 orders."""
    rng = random.Random(5)
    t = await feed(model, "m1", 150, 600.0, 0.2, rng)
    t = await feed(model, "m1", 100, 1200.0, 0.2, rng, start_ms=t)
    assert prep_s(await model.predict("m1", t), t) == pytest.approx(1200.0, rel=0.1)


async def test_hour_of_day_effect_is_learnt(model: PrepModel) -> None:
    """Across merchants, lunch orders (12:00-13:00 UTC) take 1.5x as long: the model learns the ratio."""
    rng = random.Random(7)
    means = {f"m{i}": rng.uniform(480, 1080) for i in range(20)}
    for day in range(20):
        for hour in (11, 12, 13, 15):
            for m, mean in means.items():
                t = T0 + day * 24 * H + hour * H + rng.randrange(0, 50) * 60_000
                y = mean * (1.5 if hour == 12 else 1.0) * math.exp(rng.gauss(0, 0.2) - 0.02)
                await model.on_placed(m, f"{m}-{t}", t, 1)
                await model.on_ready(m, f"{m}-{t}", t + round(y * 1000))
    t = T0 + 21 * 24 * H
    for m, mean in means.items():
        off_peak = prep_s(await model.predict(m, t + 11 * H), t + 11 * H)
        lunch = prep_s(await model.predict(m, t + 12 * H), t + 12 * H)
        assert lunch / off_peak == pytest.approx(1.5, rel=0.12), m
        assert off_peak == pytest.approx(mean, rel=0.15), m


async def test_basket_size_effect_is_learnt(model: PrepModel) -> None:
    """Prep grows as items^0.3 within each merchant: predictions for 1 vs 6 items keep that ratio."""
    rng = random.Random(11)
    means = {f"m{i}": rng.uniform(480, 1080) for i in range(10)}
    t = T0
    for _ in range(60):
        for m, mean in means.items():
            items = rng.randint(1, 6)
            y = mean * items**0.3 * math.exp(rng.gauss(0, 0.2) - 0.02)
            await model.on_placed(m, f"{m}-{t}", t, items)
            await model.on_ready(m, f"{m}-{t}", t + round(y * 1000))
        t += 30 * 60_000
    for m in means:
        one = prep_s(await model.predict(m, t, 1), t)
        six = prep_s(await model.predict(m, t, 6), t)
        assert six / one == pytest.approx(6**0.3, rel=0.12), m
    # with no basket effect in the data the slope stays near 0 (the test above can fail)
    raw = await model.client.hget(f"{model.keys.prefix}prep:global", "bb")
    assert abs(float(raw or 0)) < 0.1


async def test_backlog_effect_is_learnt(model: PrepModel) -> None:
    """Orders arriving behind k open ones take (1+k)^0.25 longer: the model learns it from the backlog."""
    rng = random.Random(13)
    means = {f"m{i}": rng.uniform(480, 1080) for i in range(10)}
    t = T0
    for _ in range(40):
        for m, mean in means.items():
            burst = [f"{m}-{t}-{j}" for j in range(rng.randint(1, 5))]
            ys = []
            for j, oid in enumerate(burst):  # placed together: the j-th sees j open orders
                await model.on_placed(m, oid, t + j, 1)
                ys.append(mean * (1 + j) ** 0.25 * math.exp(rng.gauss(0, 0.2) - 0.02))
            for oid, y, j in zip(burst, ys, range(len(burst)), strict=True):
                await model.on_ready(m, oid, t + j + round(y * 1000))
        t += 2 * H
    for m in means:
        assert await model.backlog(m) == 0
        idle = prep_s(await model.predict(m, t), t)
        for j in range(3):
            await model.on_placed(m, f"{m}-q{j}", t, 1)
        busy = prep_s(await model.predict(m, t), t)  # behind 3 open orders
        assert busy / idle == pytest.approx(4**0.25, rel=0.1), m


async def test_on_placed_and_on_ready_are_idempotent(model: PrepModel) -> None:
    """Repeated events count once: one backlog entry, one observation, one learnt counter."""
    first = await model.on_placed("m1", "o1", T0, 2, "cafe")
    again = await model.on_placed("m1", "o1", T0 + 5_000, 7, "restaurant")  # a retry with drifted fields
    assert again == first
    assert await model.backlog("m1") == 1
    await model.on_ready("m1", "o1", T0 + 300_000)
    await model.on_ready("m1", "o1", T0 + 900_000)
    assert (await model.predict("m1", T0 + H, 2)).samples == 1
    assert (await model.counters())["learnt"] == 1
    assert await model.backlog("m1") == 0
    # a placement after its ready event does not reopen the order
    await model.on_placed("m1", "o1", T0, 2, "cafe")
    assert await model.backlog("m1") == 0


async def test_backlog_counts_open_orders(model: PrepModel, client) -> None:  # type: ignore[no-untyped-def]
    """Placed orders are open until ready or closed; each new order records how many were open."""
    for i in range(4):
        await model.on_placed("m1", f"o{i}", T0 + i * 1000)
    assert await model.backlog("m1") == 4
    assert [await client.hget(f"{model.keys.prefix}prep:order:o{i}", "backlog") for i in range(4)] == [
        "0",
        "1",
        "2",
        "3",
    ]
    await model.on_ready("m1", "o0", T0 + 600_000)
    await model.on_closed("m1", "o1")
    await model.on_closed("m1", "o1")
    assert await model.backlog("m1") == 2
    assert (await model.predict("m1", T0 + H)).samples == 1  # closing taught nothing
    await model.on_placed("m1", "o4", T0 + 700_000)
    assert await client.hget(f"{model.keys.prefix}prep:order:o4", "backlog") == "2"
    # a closed order's late ready event is not learnt either
    await model.on_ready("m1", "o1", T0 + 800_000)
    assert (await model.predict("m1", T0 + H)).samples == 1
    # orders open longer than the backlog window stop counting (lost events)
    await model.on_placed("m1", "o5", T0 + 4 * H)
    assert await client.hget(f"{model.keys.prefix}prep:order:o5", "backlog") == "0"


async def test_state_survives_a_new_instance(model: PrepModel, redis_server: EmbeddedRedis) -> None:
    """A fresh PrepModel (new client, as after a restart) predicts exactly what the old one did."""
    rng = random.Random(17)
    t = await feed(model, "m1", 30, 700.0, 0.3, rng, category="restaurant")
    await model.on_placed("m1", "open-1", t, 3, "restaurant")
    before = await model.predict("m1", t + 60_000, 3, "restaurant")
    other = redis_client(redis_server.url)
    try:
        after = await PrepModel(other, ZONE).predict("m1", t + 60_000, 3, "restaurant")
        assert after == before
        assert after.samples == 30
        # another zone shares nothing
        assert (await PrepModel(other, "elsewhere").predict("m1", t, 3, "restaurant")).samples == 0
    finally:
        await other.aclose()


async def test_bad_events_are_counted_not_learnt(model: PrepModel) -> None:
    """Ready before placement, after more than 3 h, or for an unknown order: counted, nothing learnt."""
    cold = await model.predict("m1", T0 + H)
    await model.on_placed("m1", "early", T0, 1)
    await model.on_ready("m1", "early", T0 - 1)
    await model.on_placed("m1", "zero", T0, 1)
    await model.on_ready("m1", "zero", T0)
    await model.on_placed("m1", "late", T0, 1)
    await model.on_ready("m1", "late", T0 + 3 * H + 1000)
    await model.on_ready("m1", "never-placed", T0 + 1000)
    await model.on_closed("m1", "never-placed")
    assert await model.counters() == {"learnt": 0, "ignored_early": 2, "ignored_absurd": 1, "ignored_unknown": 1}
    assert await model.backlog("m1") == 0
    assert await model.predict("m1", T0 + H) == cold


async def test_predict_many_matches_predict(model: PrepModel) -> None:
    """The pipelined batch gives the same answers as one call each, in order."""
    rng = random.Random(19)
    await feed(model, "m1", 10, 500.0, 0.3, rng, category="cafe")
    await model.on_placed("m2", "x", T0, 1, "pharmacy")
    queries = [("m1", T0 + H, 1, "cafe"), ("m2", T0 + 2 * H, 3, "pharmacy"), ("nobody", T0, 1, "")]
    assert await model.predict_many(queries) == [await model.predict(*q) for q in queries]
    assert await model.predict_many([]) == []


def test_config_is_validated() -> None:
    """Nonsense settings are refused when the config is made."""
    with pytest.raises(ValueError):
        PrepConfig(merchant_half_life_orders=0)
    with pytest.raises(ValueError):
        PrepConfig(priors={})
    assert statistics.mean(p.mean_s for p in CATEGORY_PRIORS.values()) > 0


@settings(max_examples=200, deadline=None)
@given(
    sd_s=st.floats(min_value=1.0, max_value=3_600.0),
    # now relative to the predicted time, in spreads: far before it to far past it
    a=st.floats(min_value=-12.0, max_value=30.0),
)
def test_still_cooking_is_the_truncated_normal(sd_s: float, a: float) -> None:
    """The prediction given that the food is not ready by now: the normal truncated below at now, as
    SciPy's truncnorm computes it, and never before now."""
    predicted = T0
    now = predicted + round(a * sd_s * 1000)
    mean, sd = still_cooking(predicted, sd_s, now)
    exact = truncnorm((now - predicted) / (sd_s * 1000), math.inf, loc=predicted, scale=sd_s * 1000)
    assert mean >= now
    assert mean == pytest.approx(exact.mean(), abs=max(1.0, 1e-6 * sd_s * 1000))
    assert sd * 1000 == pytest.approx(exact.std(), rel=1e-3, abs=1.0)
    assert sd <= sd_s


def test_still_cooking_far_before_changes_nothing_and_known_times_stay() -> None:
    """Long before the predicted time the food's silence says nothing; at it, the food is expected a
    half-normal's mean later; a known time (no spread) is kept."""
    assert still_cooking(T0, 480.0, T0 - 3 * H) == (T0, pytest.approx(480.0))
    mean, sd = still_cooking(T0, 480.0, T0)
    assert (mean - T0) / 1000 == pytest.approx(480 * math.sqrt(2 / math.pi), abs=0.01)
    assert sd == pytest.approx(480 * math.sqrt(1 - 2 / math.pi), rel=1e-9)
    assert still_cooking(T0, 0.0, T0 + H) == (T0, 0.0)
    assert still_cooking(T0, 1e-300, T0 + H) == (T0, 1e-300)  # below MIN_SD_S: known, no overflow
