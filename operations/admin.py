"""The thresholds in the Django admin: validated, published to Redis on save."""

from django.contrib import admin, messages

from operations.models import AlertThreshold
from operations.rules import RULES


@admin.register(AlertThreshold)
class AlertThresholdAdmin(admin.ModelAdmin):
    list_display = ("rule_label", "threshold", "unit", "duration_seconds", "hysteresis",
                    "severity", "enabled", "updated_at")  # fmt: skip
    list_editable = ("enabled",)
    readonly_fields = ("updated_at",)
    fields = ("rule", "threshold", "duration_seconds", "hysteresis", "severity", "enabled",
              "updated_at")  # fmt: skip

    @admin.display(description="rule", ordering="rule")
    def rule_label(self, obj):
        rule = RULES.get(obj.rule)
        return rule.label if rule else obj.rule

    def get_readonly_fields(self, request, obj=None):
        # The rule of an existing row is its identity: edit the values, not the rule.
        return (*self.readonly_fields, "rule") if obj else self.readonly_fields

    def has_add_permission(self, request):
        # Five rules, five rows (seeded by a migration); a missing one may be re-added.
        existing = set(AlertThreshold.objects.values_list("rule", flat=True))
        return super().has_add_permission(request) and bool(set(RULES) - existing)

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):  # fmt: skip
        # A refused form has put the refused values on `obj`: name the row by what is saved,
        # not as "Response time p95: 1e+300 ms" above the message refusing 1e+300.
        if obj is not None and obj.pk and context["adminform"].form.errors:
            saved = type(obj).objects.filter(pk=obj.pk).first()
            if saved is not None:
                context.update(original=saved, subtitle=str(saved))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if getattr(obj, "_synced", True):
            self.message_user(request, "The new threshold applies from the next evaluation.")
        else:
            self.message_user(
                request,
                "Saved, but Redis is unreachable: the collector applies it once Redis is back.",
                messages.WARNING,
            )
