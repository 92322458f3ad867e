"""The embedded replicated layout: a primary, N replicas and three sentinels.

With `REDIS_REPLICAS=N` (N >= 1) `manage.py serve` and `manage.py redis_stack` run this
layout instead of the single server: the primary on REDIS_PORT with the single server's
data folder, the replicas on the next N ports (`replica-<i>/` inside it) and three
sentinels on the ports after those (`sentinel-<i>/`), each with its own config. Every
process requires a password: the data nodes REDIS_PASSWORD (also their `masterauth`),
the sentinels REDIS_SENTINEL_PASSWORD. A sentinel is the same redis-server run with
`--sentinel` on a config file it may rewrite.
"""

import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import redis

from config.embedded_redis import EmbeddedRedis, EmbeddedRedisError, _conf_string

SENTINEL_COUNT = 3
SENTINEL_QUORUM = 2
# A primary silent for a second is down; a failover that stalls is retried after this.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
# A replica counts for min-replicas-to-write while it acknowledged within this many
# seconds (each sends an ACK a second): slack for a loaded machine. A primary whose
# replicas left it for a new primary (a failover while it was frozen) has none at once.
MIN_REPLICAS_MAX_LAG_S = 10
ROLES = {"master": "primary", "slave": "replica", "sentinel": "sentinel"}


def sentinel_ports(port: int, replicas: int) -> list[int]:
    """The sentinels' ports: the three after the primary's and its replicas'."""
    return [port + replicas + 1 + i for i in range(SENTINEL_COUNT)]


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports (for tests and benches), below
    the ephemeral range: there, the group's own outgoing connections could take one of
    them before its server binds it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        low = 32768
    while True:
        first = random.randrange(max(1024, low - 12000), low - count)  # noqa: S311 - a port
        if all(_bindable(first + i) for i in range(count)):
            return first


@dataclass
class EmbeddedNode(EmbeddedRedis):
    """A data node: the primary, or a replica of the node on port `replica_of`."""

    replica_of: int | None = None
    min_replicas_to_write: int = 0

    def conf_lines(self) -> list[str]:
        # masterauth on the primary too: once demoted by a failover it syncs from another.
        lines = [
            *super().conf_lines(),
            f"masterauth {_conf_string(self.password)}",
            # A full sync waits this long for more replicas (default 5 s): the layout starts
            # its replicas within a second of each other.
            "repl-diskless-sync-delay 1",
        ]
        if self.min_replicas_to_write:
            # A primary cut off from its replicas (frozen, then resumed after a failover)
            # refuses writes instead of acknowledging ones its demotion would discard.
            lines += [
                f"min-replicas-to-write {self.min_replicas_to_write}",
                f"min-replicas-max-lag {MIN_REPLICAS_MAX_LAG_S}",
            ]
        if self.replica_of is not None:
            lines.append(f"replicaof 127.0.0.1 {self.replica_of}")
        return lines


@dataclass
class EmbeddedSentinel(EmbeddedRedis):
    """One sentinel watching the group `service` whose primary is on `primary_port`."""

    service: str = "movies"
    primary_port: int = 0
    data_password: str = ""

    required_modules: ClassVar[tuple[str, ...]] = ()
    server_options: ClassVar[tuple[str, ...]] = ("--sentinel",)

    def conf_lines(self) -> list[str]:
        service = self.service
        return [
            *self.process_lines(),
            f"requirepass {_conf_string(self.password)}",
            f"sentinel sentinel-pass {_conf_string(self.password)}",
            f"sentinel monitor {service} 127.0.0.1 {self.primary_port} {SENTINEL_QUORUM}",
            f"sentinel auth-pass {service} {_conf_string(self.data_password)}",
            f"sentinel down-after-milliseconds {service} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {service} {FAILOVER_TIMEOUT_MS}",
        ]


@dataclass(frozen=True)
class ProcessState:
    """A running embedded process, its role as the server reports it now."""

    role: str
    port: int
    pid: int

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "port": self.port, "pid": self.pid}


def process_state(process: EmbeddedRedis) -> ProcessState | None:
    """The state of `process`, or None when it is not running."""
    pid = process.pid()
    if pid is None:
        return None
    if isinstance(process, EmbeddedSentinel):
        return ProcessState("sentinel", process.port, pid)
    # Loading or unreachable: the role it was started with.
    role = _reported_role(process) or (
        "replica" if getattr(process, "replica_of", None) else "primary"
    )
    return ProcessState(role, process.port, pid)


def _reported_role(process: EmbeddedRedis) -> str | None:
    """The role the server reports now, or None when it does not answer."""
    try:
        return ROLES[process.client().execute_command("ROLE")[0]]
    except redis.RedisError:
        return None


def _monitored(conf: Path, service: str) -> tuple[int, int] | None:
    """(config epoch, primary port) from a sentinel's config, which it rewrites after
    each failover; None without one."""
    try:
        text = conf.read_text(errors="replace")
    except FileNotFoundError:
        return None
    name = re.escape(service)
    monitor = re.search(rf"^sentinel monitor {name} \S+ (\d+) ", text, re.MULTILINE)
    epoch = re.search(rf"^sentinel config-epoch {name} (\d+)", text, re.MULTILINE)
    if monitor is None:
        return None
    return (int(epoch.group(1)) if epoch else 0, int(monitor.group(1)))


@dataclass
class EmbeddedGroup:
    """The primary on `port`, `replicas` replicas after it and the three sentinels."""

    port: int
    data_dir: Path
    replicas: int
    password: str
    sentinel_password: str
    service: str = "movies"
    maxmemory: str | None = None

    def min_replicas_to_write(self) -> int:
        """1 with two replicas or more, so that a failover still leaves the new primary
        one; with a single replica, a failover would leave it refusing every write."""
        return 1 if self.replicas >= 2 else 0

    def node_ports(self) -> list[int]:
        return [self.port + i for i in range(self.replicas + 1)]

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in sentinel_ports(self.port, self.replicas)]

    def nodes(self, primary: int | None = None) -> list[EmbeddedNode]:
        """The data nodes, the one on `primary` (default: `port`) first."""
        primary = primary or self.port
        nodes = [
            EmbeddedNode(
                port=port,
                data_dir=self.data_dir if i == 0 else self.data_dir / f"replica-{i}",
                password=self.password,
                maxmemory=self.maxmemory,
                replica_of=None if port == primary else primary,
                min_replicas_to_write=self.min_replicas_to_write(),
            )
            for i, port in enumerate(self.node_ports())
        ]
        return sorted(nodes, key=lambda node: node.replica_of is not None)

    def sentinels(self, primary: int | None = None) -> list[EmbeddedSentinel]:
        return [
            EmbeddedSentinel(
                port=port,
                data_dir=self.data_dir / f"sentinel-{i + 1}",
                password=self.sentinel_password,
                service=self.service,
                primary_port=primary or self.port,
                data_password=self.password,
            )
            for i, (_host, port) in enumerate(self.sentinel_addresses())
        ]

    def current_primary(self) -> int:
        """The primary's port now: as the running sentinel with the newest configuration
        says, or a running data node, else as the sentinels' configs left it (after a
        failover it is no longer `port`)."""
        ports = set(self.node_ports())
        told = []  # (config epoch, port): a sentinel may lag behind a failover by seconds
        for sentinel in self.sentinels():
            if sentinel.pid():
                try:
                    client = sentinel.client()
                    epoch = client.sentinel_master(self.service)["config-epoch"]
                    # Not SENTINEL MASTER's address: mid-failover it is still the old one.
                    address = client.sentinel_get_master_addr_by_name(self.service)
                except redis.RedisError:
                    continue
                if address and int(address[1]) in ports:
                    told.append((epoch, int(address[1])))
        masters = [n.port for n in self.nodes() if n.pid() and _reported_role(n) == "primary"]
        if told and (max(told)[1] in masters or not masters):
            return max(told)[1]
        if masters:
            return masters[0]
        saved = [_monitored(s.runtime_conf, self.service) for s in self.sentinels()]
        saved = [entry for entry in saved if entry and entry[1] in ports]
        return max(saved)[1] if saved else self.port

    def processes(self) -> list[EmbeddedRedis]:
        primary = self.current_primary()
        return [*self.nodes(primary), *self.sentinels(primary)]

    def status(self) -> list[ProcessState]:
        states = (process_state(process) for process in self.processes())
        return [state for state in states if state is not None]

    def start(self, timeout: float = 60.0) -> list[str]:
        """Start what is not running, then wait until the replicas are in sync and the
        sentinels know the primary, its replicas and each other. One line per process."""
        processes = self.processes()
        for process in processes:  # before anything starts: all or nothing
            if process.status() == "foreign":
                raise EmbeddedRedisError(
                    f"port {process.port} is already in use by another program; the "
                    f"replicated layout needs ports {self.port}-{processes[-1].port} "
                    "(REDIS_PORT and the ones after it): free it or set REDIS_PORT"
                )
        for process in processes:
            # A sentinel rewrites its config, and the data nodes' it reconfigures, as 0644;
            # they hold passwords, so their folders are ours only.
            process.data_dir.mkdir(parents=True, exist_ok=True)
            process.data_dir.chmod(0o700)
        deadline = time.monotonic() + timeout
        results, started = [], []
        try:
            for process in processes:
                if process is processes[self.replicas + 1]:  # the first sentinel
                    self._wait_replicas(deadline)
                result = process.start(timeout=max(1.0, deadline - time.monotonic()))
                if result == "started":
                    started.append(process)
                results.append(f"{self._label(process)} {result} on 127.0.0.1:{process.port}")
            self._wait_sentinels(deadline)
        except EmbeddedRedisError:
            for process in reversed(started):  # leave nothing half-started running
                process.stop()
            raise
        return results

    def restart_stopped(self, timeout: float = 300.0) -> list[str]:
        """Start again the processes of the group that died, as a process manager would:
        a killed node comes back as a replica of the current primary, and the group keeps
        the replicas min-replicas-to-write counts on. One line per process started; []
        when all run (a frozen process runs). `timeout`: a full sync takes a while."""
        if all(process.pid() for process in [*self.nodes(), *self.sentinels()]):
            return []
        return [line for line in self.start(timeout=timeout) if " started " in line]

    def stop(self, timeout: float = 30.0, save: bool = True) -> list[str]:
        """The sentinels first, so that stopping the primary starts no failover; then the
        data nodes (the primary waits for its replicas to catch up). Each set at once:
        a process takes a second or two to be gone."""
        processes = self.processes()
        results = {}

        def stop(process: EmbeddedRedis) -> None:
            results[process.port] = process.stop(timeout=timeout, save=save)

        for batch in (processes[self.replicas + 1 :], processes[: self.replicas + 1]):
            threads = [threading.Thread(target=stop, args=(p,)) for p in batch]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        ordered = processes[self.replicas + 1 :] + processes[: self.replicas + 1]
        return [f"{self._label(p)} on port {p.port}: {results[p.port]}" for p in ordered]

    def _label(self, process: EmbeddedRedis) -> str:
        if isinstance(process, EmbeddedSentinel):
            return "sentinel"
        return "replica" if getattr(process, "replica_of", None) else "primary"

    def _reported_primary(self) -> int | None:
        """The port of the one data node reporting itself primary, else None."""
        masters = [node.port for node in self.nodes() if _reported_role(node) == "primary"]
        return masters[0] if len(masters) == 1 else None

    def _replicas_in_sync(self) -> bool:
        # The primary as the nodes report it now: a failover may come during the wait.
        primary = self._reported_primary()
        return primary is not None and all(
            _in_sync(node, primary) for node in self.nodes() if node.port != primary
        )

    def _sentinels_know(self) -> bool:
        primary = self._reported_primary()

        def known(sentinel: EmbeddedSentinel) -> bool:
            client = sentinel.client()
            address = client.sentinel_get_master_addr_by_name(self.service)
            state = client.sentinel_master(self.service)
            return (
                address is not None
                and int(address[1]) == primary
                and int(state["num-slaves"]) >= self.replicas
                and int(state["num-other-sentinels"]) >= SENTINEL_COUNT - 1
            )

        return self._replicas_in_sync() and all(known(s) for s in self.sentinels())

    def _wait_replicas(self, deadline: float) -> None:
        self._wait_for(
            deadline, "the replicas to be in sync with one primary", self._replicas_in_sync
        )

    def _wait_sentinels(self, deadline: float) -> None:
        self._wait_for(
            deadline,
            "the sentinels to know the primary, its replicas and each other",
            self._sentinels_know,
        )

    def _wait_for(self, deadline: float, what: str, done: Any) -> None:
        last_error = None
        while time.monotonic() < deadline:
            try:
                if done():
                    return
            except redis.RedisError as exc:
                last_error = exc
            time.sleep(0.1)
        raise EmbeddedRedisError(
            f"timed out waiting for {what}" + (f" ({last_error})" if last_error else "")
        )


def _in_sync(node: EmbeddedNode, primary: int) -> bool:
    info = node.client().info("replication")
    return (
        info.get("role") == "slave"
        and int(info.get("master_port", 0)) == primary
        and info.get("master_link_status") == "up"
        and not int(info.get("master_sync_in_progress", 0))
    )


def running_layout(data_dir: Path) -> tuple[int, int] | None:
    """(the primary's port, the replicas) of a group started in `data_dir` whose replicas
    or sentinels still run, whatever REDIS_REPLICAS and REDIS_PORT say now; else None."""
    folders = [*data_dir.glob("replica-*"), *data_dir.glob("sentinel-*")]
    if not any(EmbeddedRedis(port=0, data_dir=folder).pid() for folder in folders):
        return None
    try:
        conf = (data_dir / "runtime.conf").read_text()
    except FileNotFoundError:
        return None
    port = re.search(r"^port (\d+)$", conf, re.MULTILINE)
    if port is None:
        return None
    return int(port.group(1)), len(list(data_dir.glob("replica-*")))


def from_settings(layout: tuple[int, int] | None = None) -> EmbeddedGroup:
    """The group the settings describe, or the one of `layout` (running_layout)."""
    from django.conf import settings

    port, replicas = layout or (settings.REDIS_PORT, settings.REDIS_REPLICAS)
    return EmbeddedGroup(
        port=port,
        data_dir=settings.REDIS_EMBEDDED_DIR,
        replicas=replicas,
        password=settings.REDIS_PASSWORD,
        sentinel_password=settings.REDIS_SENTINEL_PASSWORD,
        service=settings.REDIS_SENTINEL_SERVICE,
    )
