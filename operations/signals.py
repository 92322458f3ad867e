"""Every saved threshold is published at once to the copy the evaluator reads."""

import logging

import redis
from django.db.models.signals import post_save
from django.dispatch import receiver

from config.events import CONFIGURATION_CHANGED, append_event
from operations.configuration import publish_thresholds
from operations.models import AlertThreshold

logger = logging.getLogger(__name__)


@receiver(post_save, sender=AlertThreshold)
def threshold_saved(sender, instance, raw=False, **kwargs):
    if raw:  # loading fixtures
        return
    try:
        publish_thresholds()
        append_event(CONFIGURATION_CHANGED, rule=instance.rule,
                     threshold=instance.threshold, duration_seconds=instance.duration_seconds,
                     hysteresis=instance.hysteresis, severity=instance.severity,
                     enabled=instance.enabled)  # fmt: skip
        instance._synced = True
    except redis.RedisError as exc:
        # Saved in the database all the same; the collector publishes it at its next start.
        logger.warning("threshold %s saved but not synced to Redis: %s", instance.rule, exc)
        instance._synced = False
