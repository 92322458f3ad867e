"""The Redis server's figures: reading INFO (`read_server_info`, `read_figures`) and what
they mean for the dashboard (`overview`, pure). Read from the search store's server, which
holds the catalogue; by default every store lives there."""

from dataclasses import dataclass

import redis

from config.redis_stores import STORES, get_redis

INFO_SECTIONS = ("server", "memory", "clients", "stats", "persistence")


@dataclass(frozen=True)
class ServerInfo:
    """INFO's sections as read, the loaded modules and each store's key count."""

    sections: dict[str, dict]
    modules: list[str]
    keys_per_store: dict[str, int | None]


@dataclass(frozen=True)
class RedisFigures:
    """The collector's cheap subset of INFO."""

    used_memory: int
    maxmemory: int
    connected_clients: int
    total_commands_processed: int
    keyspace_hits: int
    keyspace_misses: int


def read_server_info() -> ServerInfo:
    client = get_redis("search")
    pipe = client.pipeline(transaction=False)
    for section in INFO_SECTIONS:
        pipe.info(section)
    sections = dict(zip(INFO_SECTIONS, pipe.execute(), strict=True))
    try:
        modules = sorted(f"{m['name']} {m['ver']}" for m in client.module_list())
    except redis.ResponseError:
        modules = []
    keys = {}
    for store in STORES:
        try:
            keys[store] = get_redis(store).dbsize()
        except redis.RedisError:
            keys[store] = None
    return ServerInfo(sections, modules, keys)


def read_figures() -> RedisFigures:
    pipe = get_redis("search").pipeline(transaction=False)
    pipe.info("memory")
    pipe.info("clients")
    pipe.info("stats")
    memory, clients, stats = pipe.execute()
    return RedisFigures(
        used_memory=int(memory.get("used_memory", 0)),
        maxmemory=int(memory.get("maxmemory", 0)),
        connected_clients=int(clients.get("connected_clients", 0)),
        total_commands_processed=int(stats.get("total_commands_processed", 0)),
        keyspace_hits=int(stats.get("keyspace_hits", 0)),
        keyspace_misses=int(stats.get("keyspace_misses", 0)),
    )


def overview(info: ServerInfo) -> dict:
    """The figures the dashboard shows, as `/api/operations/redis-info` returns them (before
    the collector's ops/s is added: INFO's instantaneous figure samples the last 1.6 s,
    mostly the dashboard's own polling)."""
    server, memory, clients, stats, persistence = (info.sections[s] for s in INFO_SECTIONS)
    hits, misses = stats.get("keyspace_hits", 0), stats.get("keyspace_misses", 0)
    maxmemory = int(memory.get("maxmemory", 0))
    used = int(memory.get("used_memory", 0))
    return {
        "version": server.get("redis_version"),
        "mode": server.get("redis_mode"),
        "uptime_seconds": server.get("uptime_in_seconds"),
        "modules": info.modules,
        "memory": {
            "used_bytes": used,
            "used_human": memory.get("used_memory_human"),
            "peak_human": memory.get("used_memory_peak_human"),
            "maxmemory_bytes": maxmemory,
            "maxmemory_human": memory.get("maxmemory_human"),
            "used_percent": round(used / maxmemory * 100, 2) if maxmemory else None,
            "policy": memory.get("maxmemory_policy"),
            "fragmentation_ratio": memory.get("mem_fragmentation_ratio"),
        },
        "clients": {
            "connected": clients.get("connected_clients"),
            "blocked": clients.get("blocked_clients"),
        },
        "stats": {
            "keyspace_hits": hits,
            "keyspace_misses": misses,
            "hit_ratio_percent": round(hits / (hits + misses) * 100, 2) if hits + misses else None,
            "evicted_keys": stats.get("evicted_keys"),
            "expired_keys": stats.get("expired_keys"),
        },
        "keys_per_store": info.keys_per_store,
        "persistence": {
            "aof_enabled": bool(int(persistence.get("aof_enabled", 0))),
            "aof_last_write_status": persistence.get("aof_last_write_status"),
            "aof_last_bgrewrite_status": persistence.get("aof_last_bgrewrite_status"),
            "rdb_last_save_time": persistence.get("rdb_last_save_time"),
            "rdb_last_bgsave_status": persistence.get("rdb_last_bgsave_status"),
            "rdb_changes_since_last_save": persistence.get("rdb_changes_since_last_save"),
            "loading": bool(int(persistence.get("loading", 0))),
        },
    }
