"""Redis key names. Every key of a zone carries the `{zone}` hash tag, so one zone's keys share a
Redis Cluster slot and its Lua scripts and transactions run unchanged on a cluster.

A key about an id names its kind first (`order_history:<id>`, not `order:<id>:history`): ids may hold ':', and
order "x:history" must not be order x's history (nor rider "r:tasks" rider r's tasks)."""

from __future__ import annotations


class ZoneKeys:
    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.prefix = f"tc:{{{zone}}}:"

    @property
    def slot(self) -> str:
        """The zone's prefix as a key name, never written: KEYS[1] of the scripts that build their keys from
        the prefix. A script called with no keys may go to any node of a Redis Cluster, which refuses the
        zone's keys unless it serves the zone's slot; with this key it goes to the node that does."""
        return self.prefix

    # Rider index
    def rider(self, rider_id: str) -> str:
        return f"{self.prefix}rider:{rider_id}"

    def cell(self, cell: str) -> str:
        return f"{self.prefix}cell:{cell}"

    @property
    def riders_seen(self) -> str:
        return f"{self.prefix}riders:seen"

    @property
    def riders_free(self) -> str:
        return f"{self.prefix}riders:free"

    @property
    def riders_known(self) -> str:
        return f"{self.prefix}riders:known"

    @property
    def riders_frozen(self) -> str:
        """Hash: rider -> the directory epoch at which it left this zone (`dispatch.riders`); it enters again
        only under a newer one."""
        return f"{self.prefix}riders:frozen"

    @property
    def riders_plan(self) -> str:
        """Hash: rider -> "last drop-off ms,lat,lng" of the work it holds (where and when it frees up)."""
        return f"{self.prefix}riders:plan"

    @property
    def riders_pickup(self) -> str:
        """Hash: rider -> "bundle id|merchant id|pickup lat|pickup lng|planned pickup ms|orders" of the bundle it
        has been offered and not yet picked up: orders at that counter may join it (an assignment update)."""
        return f"{self.prefix}riders:pickup"

    @property
    def riders_guide(self) -> str:
        """Hash: rider -> "lat|lng|until ms": where an idle rider was sent to wait (`dispatch.guidance`)."""
        return f"{self.prefix}riders:guide"

    @property
    def guidance_last(self) -> str:
        """String: JSON of the latest guidance step (mode, cells targeted, riders sent), for ops."""
        return f"{self.prefix}guidance:last"

    @property
    def demand(self) -> str:
        """Sorted set: "order id|counter lat|counter lng" by placement ms, the recent orders (`dispatch.guidance`)."""
        return f"{self.prefix}demand"

    def rider_tasks(self, rider_id: str) -> str:
        return f"{self.prefix}rider_tasks:{rider_id}"

    def rider_feed(self, rider_id: str) -> str:
        return f"{self.prefix}rider_feed:{rider_id}"

    # Orders
    def order(self, order_id: str) -> str:
        return f"{self.prefix}order:{order_id}"

    def order_history(self, order_id: str) -> str:
        return f"{self.prefix}order_history:{order_id}"

    def order_declined(self, order_id: str) -> str:
        return f"{self.prefix}order_declined:{order_id}"

    @property
    def merchants_ready_reported(self) -> str:
        """Hash: merchant -> ms of its latest ready report (ReportFoodReady): a merchant that reports its ready
        events, whose silence about an order says the food is not ready yet."""
        return f"{self.prefix}merchants:ready_reported"

    @property
    def lease(self) -> str:
        """String "token|owner" with a TTL: the worker that ticks the zone (`dispatch.lease`)."""
        return f"{self.prefix}lease"

    @property
    def lease_fence(self) -> str:
        """Counter: the last fencing token drawn for the zone's lease (only grows)."""
        return f"{self.prefix}lease:fence"

    @property
    def throughput(self) -> str:
        """Hash: the zone's decisions per tick (exponentially weighted, `per_tick`), written by the ticking
        process, read by intake for back-pressure."""
        return f"{self.prefix}throughput"

    @property
    def tick(self) -> str:
        """Hash: the zone's last tick as its worker finished it (`at_ms`, `total_ms`, `pending`, `decided`), for
        the ops cockpit of any process."""
        return f"{self.prefix}tick"

    @property
    def traffic_ops(self) -> str:
        """Hash: H3 cell -> the congestion factor ops set (UpdateTraffic), for every process of the zone."""
        return f"{self.prefix}traffic:ops"

    @property
    def traffic_version(self) -> str:
        """String: bumped by every UpdateTraffic; a ticking process re-reads traffic:ops when it moves."""
        return f"{self.prefix}traffic:version"

    @property
    def speed_samples(self) -> str:
        """List: "lat|lng|speed|ms" of riders' fixes sampled by processes that do not tick, for the tick's
        congestion learning."""
        return f"{self.prefix}speeds:samples"

    @property
    def orders_events(self) -> str:
        """Stream: every decision and status change of the zone's orders (WatchOrders; waiting AssignRiders
        calls in every process learn their decisions from it)."""
        return f"{self.prefix}orders:events"

    @property
    def pending(self) -> str:
        return f"{self.prefix}orders:pending"

    @property
    def offers(self) -> str:
        return f"{self.prefix}orders:offers"


# Directory shards: an order's or rider's zone is kept in one of this many hashes, by a hash of its id, so
# directory traffic spreads over a cluster's slots like the zones' own.
DIRECTORY_SHARDS = 16


class DirectoryKeys:
    """Where a city's orders and riders are: hashes id -> zone, each shard its own hash tag."""

    def __init__(self, city: str) -> None:
        self.city = city

    def orders(self, shard: int) -> str:
        """Hash: order id -> zone of its pickup."""
        return f"tc:{{{self.city}:orders:{shard}}}:zone"

    def riders(self, shard: int) -> str:
        """Hash: rider id -> "zone|epoch": the zone it belongs to, and how many moves it has made."""
        return f"tc:{{{self.city}:riders:{shard}}}:zone"

    @property
    def workers(self) -> str:
        """Sorted set: zone worker -> ms of its last heartbeat (workers spread zones by how many are alive)."""
        return f"tc:{{{self.city}:workers}}:alive"
