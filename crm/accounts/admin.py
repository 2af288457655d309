"""Django admin for users, the organisation tree and roles.

The admin is a back door for operators; the administration pages are the everyday way.  Saves still
go through the services so the tree paths, the manager line and the audit actor stay right.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .choices import UnitKind
from .forms import AdminSitePasswordForm
from .models import OrgUnit, Role, User
from .queries import subordinate_ids


class OrgUnitAdminForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ["name", "kind", "parent"]

    def clean(self):
        cleaned = super().clean()
        parent, kind = cleaned.get("parent"), cleaned.get("kind")
        if parent is None and kind and kind != UnitKind.HEAD_OFFICE:
            self.add_error("parent", _("Only the head office has no parent."))
        if parent is not None and self.instance.pk and parent.path.startswith(
                OrgUnit.objects.get(pk=self.instance.pk).path):
            self.add_error("parent", _("A unit cannot be moved under itself."))
        return cleaned


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    form = OrgUnitAdminForm
    list_display = ["name", "kind", "parent", "path"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["path"]
    ordering = ["path"]

    def save_model(self, request, obj, form, change):
        services.save_unit(obj, actor=request.user)

    def delete_model(self, request, obj):
        services.delete_unit(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for unit in queryset.order_by("-path"):  # leaves first
            services.delete_unit(unit, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.children.exists() or obj.members.exists()):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "data_scope", "description"]
    list_filter = ["data_scope"]
    search_fields = ["name", "description"]

    def save_model(self, request, obj, form, change):
        services.save_role(obj, actor=request.user)


class ManagerLoopMixin:
    def clean(self):
        cleaned = super().clean()
        manager = cleaned.get("manager")
        if manager is not None and self.instance.pk and (
                manager.pk == self.instance.pk or manager.pk in subordinate_ids(self.instance)):
            self.add_error("manager", _("A user cannot report to themselves or to a subordinate."))
        return cleaned


class UserChangeForm(ManagerLoopMixin, BaseUserAdmin.form):
    pass


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    change_password_form = AdminSitePasswordForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "first_name", "last_name", "email", "phone")}),
        (_("Place and access"), {"fields": ("org_unit", "manager", "role")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Place and access"), {"fields": ("full_name", "email", "org_unit", "manager", "role")}),
    )
    list_display = ["username", "full_name", "email", "org_unit", "role", "manager", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser", "role", "org_unit"]
    list_select_related = ["org_unit", "role", "manager"]
    search_fields = ["username", "full_name", "first_name", "last_name", "email", "phone"]
    autocomplete_fields = ["manager"]
    ordering = ["username"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions", "groups"]
        return readonly

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        obj.forget_access_cache()
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.end_api_access(obj, actor=request.user)
