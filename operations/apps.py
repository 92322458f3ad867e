from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from config import health
        from operations import signals  # noqa: F401 - publishes every saved threshold
        from operations.health import operations_details

        health.register("operations", operations_details)
