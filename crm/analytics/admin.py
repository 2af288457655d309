"""Django admin: the analysis settings, the RFM segment table, and the snapshots (read-only)."""

from django.contrib import admin

from .models import AnalyticsSettings, Segment, Snapshot


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "lookback_days", "period", "high_value_share", "general_share", "updated_at"]

    def has_add_permission(self, request):
        return not AnalyticsSettings.objects.exists()


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """The table must keep covering every R×F cell once: a refresh checks it and fails otherwise."""

    list_display = ["position", "key", "label", "cells", "practised_level"]
    list_display_links = ["key"]
    ordering = ["position", "id"]


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "as_of", "status", "stage", "progress", "customers", "started_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Snapshot._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
