"""Seed the five rules with their default thresholds, so the admin lists them to edit."""

from django.db import migrations

# Frozen here: later changes to operations/rules.py must not rewrite history.
DEFAULTS = [
    ("cpu_usage", 80.0, 60, 5.0, "warning"),
    ("memory_usage", 85.0, 60, 5.0, "warning"),
    ("redis_memory", 90.0, 60, 5.0, "critical"),
    ("response_time", 2000.0, 120, 200.0, "warning"),
    ("error_rate", 5.0, 60, 1.0, "critical"),
]


def seed(apps, schema_editor):
    AlertThreshold = apps.get_model("operations", "AlertThreshold")
    for rule, threshold, duration, hysteresis, severity in DEFAULTS:
        AlertThreshold.objects.get_or_create(
            rule=rule,
            defaults={"threshold": threshold, "duration_seconds": duration,
                      "hysteresis": hysteresis, "severity": severity},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("operations", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
