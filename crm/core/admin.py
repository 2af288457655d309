"""Django admin for the framework models: the audit log (read-only) and custom field definitions."""

from django.contrib import admin

from . import services
from .models import AuditEntry, CustomFieldDefinition


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes an entry, not even a superuser."""

    list_display = ["at", "actor_repr", "ip_address", "source", "action", "content_type", "object_id", "object_repr"]
    list_filter = ["action", "source", "content_type"]
    search_fields = ["object_repr", "object_id", "actor_repr"]
    list_select_related = ["content_type"]
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "content_type", "field_type", "required", "position", "active"]
    list_filter = ["content_type", "field_type", "active"]
    search_fields = ["key", "label"]
    ordering = ["content_type", "position", "id"]

    def save_model(self, request, obj, form, change):
        services.save_custom_field(obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: records keep their stored values
