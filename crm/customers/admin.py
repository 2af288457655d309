"""Django admin for the customer archive.  Lists are sized for millions of rows: no full counts,
owners and branches picked by id, and ownership changes are history (read-only)."""

from django.contrib import admin
from django.db import models

from .models import Contact, Customer, OwnershipChange, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "title", "purchase_role", "mobile", "phone", "email", "is_primary"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "phone", "email", "status", "customer_type", "owner", "branch", "created_at"]
    list_filter = ["kind", "status", "customer_type", "industry", "source", "province"]
    list_select_related = ["owner", "branch"]
    search_fields = ["name", "phone", "email", "name_initials"]
    raw_id_fields = ["owner", "branch"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [ContactInline]
    show_full_result_count = False
    list_per_page = 50

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "title", "purchase_role", "mobile", "email", "is_primary"]
    list_filter = ["purchase_role", "is_primary"]
    list_select_related = ["customer"]
    search_fields = ["name", "mobile", "phone", "email"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


@admin.register(OwnershipChange)
class OwnershipChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "from_owner", "to_owner", "from_branch", "to_branch", "changed_by", "reason"]
    list_select_related = ["customer", "from_owner", "to_owner", "from_branch", "to_branch", "changed_by"]
    search_fields = ["customer__name", "reason"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OwnershipChange._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
