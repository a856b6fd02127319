"""Redis key names of the merchants package: one hash tag per merchant, one per chain.

Everything of a merchant — its record, catalogue, stock ledgers, reservations, lots, promotion
suggestions (and, in `bookings`, its resources and bookings) — carries the `{m:<merchant_id>}` tag, so
every change is one single-slot Lua script on a Redis Cluster, and merchants spread over the shards. A
chain's list of branches carries `{chain:<chain_id>}`.

A key about an id names its kind first (`stock_ledger:<variant>`, not `stock:<variant>:ledger`): ids may hold
':', and variant "tea:ledger" must not be variant tea's ledger.
"""

from __future__ import annotations


def merchant_tag(merchant_id: str) -> str:
    return f"{{m:{merchant_id}}}"


class CatalogKeys:
    """The keys of a catalogue under `prefix`: a merchant's own, or a chain's head office's (ChainKeys)."""

    prefix: str

    @property
    def items(self) -> str:
        """hash: item id -> item JSON (with its version)."""
        return f"{self.prefix}items"

    @property
    def item_versions(self) -> str:
        """hash: item id -> version (what the sync script compares, without decoding JSON)."""
        return f"{self.prefix}items:versions"

    @property
    def variants(self) -> str:
        """hash: variant id -> item id (variant ids are unique within the catalogue)."""
        return f"{self.prefix}variants"

    @property
    def sync_keys(self) -> str:
        """hash: SyncCatalog idempotency key -> fingerprint, newline, the stored result (JSON)."""
        return f"{self.prefix}sync_keys"


class MerchantKeys(CatalogKeys):
    """The keys of one merchant."""

    def __init__(self, merchant_id: str) -> None:
        self.prefix = f"tc:{merchant_tag(merchant_id)}:"

    @property
    def merchant(self) -> str:
        """hash: body (JSON), status, version, updated_ms."""
        return f"{self.prefix}merchant"

    # Stock
    def stock(self, variant_id: str) -> str:
        """hash: count_qty, count_ms, count_id (the last physical count), adj_after (sum of changes after it)."""
        return f"{self.prefix}stock:{variant_id}"

    def ledger(self, variant_id: str) -> str:
        """zset: every stock event of the variant (JSON member) by occurred_ms."""
        return f"{self.prefix}stock_ledger:{variant_id}"

    def holds(self, variant_id: str) -> str:
        """zset: reservation id -> expires_ms, reservations holding the variant."""
        return f"{self.prefix}stock_holds:{variant_id}"

    def held(self, variant_id: str) -> str:
        """hash: reservation id -> quantity held of the variant."""
        return f"{self.prefix}stock_held:{variant_id}"

    @property
    def stock_events(self) -> str:
        """hash: POS event id -> fingerprint (idempotency of RecordStockEvents)."""
        return f"{self.prefix}stock_events"

    @property
    def reservations(self) -> str:
        """hash: reservation id -> JSON (lines, state, expires_ms, fingerprint)."""
        return f"{self.prefix}reservations"

    @property
    def lots(self) -> str:
        """hash: lot id -> JSON (variant, quantity, expiry date)."""
        return f"{self.prefix}lots"

    @property
    def overrides(self) -> str:
        """hash: item id -> JSON: a branch's own status and variant prices over its chain's item."""
        return f"{self.prefix}overrides"

    @property
    def promotions(self) -> str:
        """hash: suggestion id (the lot id) -> JSON."""
        return f"{self.prefix}promotions"

    @property
    def restock(self) -> str:
        """hash: item category -> restock suggestion JSON (`forecast.restock`)."""
        return f"{self.prefix}restock"


class ChainKeys(CatalogKeys):
    """The head office's catalogue of a chain, which its branches inherit: the same keys as a merchant's
    catalogue, under the chain's tag."""

    def __init__(self, chain_id: str) -> None:
        self.prefix = f"tc:{{chain:{chain_id}}}:"


def chain_branches_key(chain_id: str) -> str:
    """set: the merchant ids that name the chain as theirs."""
    return f"tc:{{chain:{chain_id}}}:branches"


def chain_overflow_key(chain_id: str) -> str:
    """string: the chain's overflow settings (JSON; absent: off)."""
    return f"tc:{{chain:{chain_id}}}:overflow"
