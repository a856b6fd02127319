"""The Redis Cluster client: the cluster form of the Redis URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio.cluster import ClusterNode, RedisCluster

# The cluster form of a Redis URL: redis-py's own URL with `+cluster` in the scheme and one or more seed
# nodes (docs/cluster.md). redis-py has no URL form for a cluster (its RedisCluster.from_url takes a plain
# redis:// URL of one node): the scheme says which client to make, and several seeds let the server start
# while one node is down.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def parse_cluster_url(url: str) -> tuple[str, list[tuple[str, int]]] | None:
    """For a cluster URL, redis-py's URL of its first node and every seed (host, port); None for any other."""
    parts = urlsplit(url)
    scheme = CLUSTER_SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        return None
    userinfo, _, hosts = parts.netloc.rpartition("@")
    addresses = [a.strip() for a in hosts.split(",")]
    seeds = []
    for address in addresses:
        host, port = address, "6379"
        if ":" in address and not address.endswith("]"):  # an IPv6 address without a port ends in "]"
            host, _, port = address.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ValueError(f"a cluster URL lists host:port seeds separated by commas; got {address!r} in {url!r}")
        seeds.append((host, int(port)))
    first = f"{userinfo}@{addresses[0]}" if userinfo else addresses[0]
    return urlunsplit((scheme, first, parts.path, parts.query, parts.fragment)), seeds


def cluster_from_url(url: str, **settings: Any) -> RedisCluster:
    """The cluster client of a cluster URL, every seed a startup node, with `settings` for every connection."""
    parsed = parse_cluster_url(url)
    if parsed is None:
        raise ValueError(f"not a cluster URL (redis+cluster:// or rediss+cluster://): {url!r}")
    first_url, seeds = parsed
    # from_url adds the first seed (the URL's host): the others join it, and any reachable one finds the rest.
    return RedisCluster.from_url(first_url, startup_nodes=[ClusterNode(h, p) for h, p in seeds[1:]], **settings)
