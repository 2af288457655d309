"""Django admin for interactions, to-dos and the timeline.  Lists are sized for millions of rows: no
full counts, customers and users picked by id.  Timeline events are history (read-only)."""

from django.contrib import admin

from .models import Interaction, TimelineEvent, Todo


class TodoInline(admin.TabularInline):
    model = Todo
    extra = 0
    fields = ["owner", "kind", "title", "due_on", "done_at"]
    raw_id_fields = ["owner"]
    show_change_link = True


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "kind", "direction", "contact", "content", "user", "follow_up_on"]
    list_filter = ["kind", "direction", "content"]
    list_select_related = ["customer", "contact", "user"]
    search_fields = ["customer__name", "summary", "external_ref"]
    raw_id_fields = ["customer", "contact", "user"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "occurred_at"
    inlines = [TodoInline]
    show_full_result_count = False
    list_per_page = 50


@admin.register(Todo)
class TodoAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "customer", "kind", "due_on", "done_at"]
    list_filter = ["kind", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["owner", "customer"]
    search_fields = ["title", "customer__name"]
    raw_id_fields = ["owner", "customer", "interaction"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    date_hierarchy = "due_on"
    show_full_result_count = False
    list_per_page = 50


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "kind", "title", "actor"]
    list_filter = ["kind"]
    list_select_related = ["customer", "actor"]
    search_fields = ["title", "customer__name"]
    date_hierarchy = "at"
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TimelineEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
