"""Forms of the administration pages (organisation units, users, roles) and of a user's own password."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.core import audit
from crm.core import permissions as rights

from . import services
from .choices import DataScopeKind, PasswordEvent
from .models import OrgUnit, Role, User

# One line per data scope, shown next to the radio buttons on the role page.
SCOPE_EXPLANATIONS = {
    DataScopeKind.OWN: _("Only records the user owns."),
    DataScopeKind.SUBORDINATES: _("Records the user owns and those of everyone who reports to them, "
                                  "directly or further down."),
    DataScopeKind.TEAM: _("Records of the user's own team or unit."),
    DataScopeKind.BRANCH: _("Records of the user's branch and its teams, without nested branches."),
    DataScopeKind.BRANCH_TREE: _("Records of the user's branch, its teams and all branches below it."),
    DataScopeKind.ALL: _("Every record in the company."),
}


class UnitChoiceField(forms.ModelChoiceField):
    """Units in tree order, indented by depth."""

    def label_from_instance(self, obj):
        return f"{'— ' * obj.depth}{obj.name} ({obj.get_kind_display()})"


class TaggedRadioSelect(forms.RadioSelect):
    """Radio buttons with a stable ``data-testid`` per option: ``<prefix>-<value>``."""

    def __init__(self, *args, testid_prefix="option", **kwargs):
        super().__init__(*args, **kwargs)
        self.testid_prefix = testid_prefix

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["data-testid"] = f"{self.testid_prefix}-{value}"
        return option


class TaggedCheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    def __init__(self, *args, testid_prefix="option", **kwargs):
        super().__init__(*args, **kwargs)
        self.testid_prefix = testid_prefix

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["data-testid"] = f"{self.testid_prefix}-{value}"
        return option


class OrgUnitForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ["name", "kind", "parent"]
        field_classes = {"parent": UnitChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = OrgUnit.objects.order_by("path")
        self.fields["parent"].empty_label = _("(none — this is the head office)")
        self.fields["name"].widget.attrs["data-testid"] = "unit-name"
        self.fields["kind"].widget.attrs["data-testid"] = "unit-kind"
        self.fields["parent"].widget.attrs["data-testid"] = "unit-parent"


class UserForm(forms.ModelForm):
    """Create or edit a user.  A password is required on create and optional on edit."""

    password1 = forms.CharField(
        label=_("Password"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-testid": "user-password1"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-testid": "user-password2"}),
    )

    class Meta:
        model = User
        fields = ["username", "full_name", "email", "phone", "org_unit", "manager", "role", "is_active"]
        field_classes = {"org_unit": UnitChoiceField}
        labels = {"is_active": _("Active (can log in)")}
        help_texts = {"is_active": _("Clear this when someone leaves. Their customers stay with the company "
                                     "and can be reassigned.")}

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["org_unit"].queryset = OrgUnit.objects.order_by("path")
        managers = User.objects.filter(is_active=True).order_by("username")
        if self.instance.pk:
            managers = User.objects.filter(is_active=True).exclude(pk=self.instance.pk).order_by("username")
            self.fields["password1"].help_text = _("Leave empty to keep the current password.")
        self.fields["manager"].queryset = managers
        self.fields["manager"].label_from_instance = lambda u: f"{u.display_name} ({u.username})"
        self.fields["role"].queryset = Role.objects.order_by("name")
        self.fields["role"].empty_label = _("(no role: cannot see any records)")
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"user-{name.replace('_', '-')}")

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1") or "", cleaned.get("password2") or ""
        if not self.instance.pk and not p1:
            self.add_error("password1", _("Set a password for the new user."))
        if p1 and p1 != p2:
            self.add_error("password2", _("The two passwords do not match."))
        if (self.actor is not None and self.instance.pk == self.actor.pk
                and "is_active" in cleaned and not cleaned["is_active"]):
            self.add_error("is_active", _("You cannot deactivate your own account."))
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # Validate the password against the user as entered (the similarity check needs the names).
        password = self.cleaned_data.get("password1")
        if password and not self.has_error("password2"):
            try:
                password_validation.validate_password(password, self.instance)
            except ValidationError as error:
                self.add_error("password1", error)


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, choices=(),
        widget=TaggedCheckboxSelectMultiple(testid_prefix="role-permission"),
    )
    data_scope = forms.ChoiceField(
        label=_("Data scope"), choices=DataScopeKind.choices,
        widget=TaggedRadioSelect(testid_prefix="scope"),
    )

    class Meta:
        model = Role
        fields = ["name", "description", "permissions", "data_scope", "max_customers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["data-testid"] = "role-name"
        self.fields["description"].widget.attrs["data-testid"] = "role-description"
        self.fields["max_customers"].widget.attrs["data-testid"] = "role-max-customers"
        self.fields["permissions"].choices = [(p.code, p.label) for p in rights.registered()]

    def permission_groups(self):
        """(app label, app verbose name, checkboxes) per app, in the registry's order, for the template."""
        boxes = {box.data["value"]: box for box in self["permissions"]}
        return [(group.app_label, group.verbose_name, [boxes[p.code] for p in group.permissions])
                for group in rights.grouped()]

    def scope_options(self):
        """(radio widget, explanation) pairs for the template."""
        return [(radio, SCOPE_EXPLANATIONS.get(radio.data["value"], "")) for radio in self["data_scope"]]


# --- passwords: each form saves through services.set_password (audited, API token revoked) ----------------
class OwnPasswordChangeForm(PasswordChangeForm):
    """The user's own change: the current password, then the new one twice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("old_password", "new_password1", "new_password2"):
            self.fields[name].widget.attrs["data-testid"] = name.replace("_", "-")

    def save(self, commit=True):
        self.user = services.set_password(self.user, self.cleaned_data["new_password1"], actor=self.user,
                                          reason=PasswordEvent.CHANGED)
        return self.user


class AdminSitePasswordForm(AdminPasswordChangeForm):
    """The Django admin's "change password" form; the actor is the signed-in administrator."""

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        raw = self.cleaned_data["password1"] if usable else None
        self.user = services.set_password(self.user, raw, actor=audit.current().actor,
                                          reason=PasswordEvent.SET_BY_ADMIN)
        return self.user


class ResetRequestForm(PasswordResetForm):
    """Asks for an e-mail address; Django's form mails a single-use link to each active account with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"data-testid": "reset-email", "autofocus": True})


class ResetPasswordForm(SetPasswordForm):
    """The new password, set from an e-mailed link (the link proves the user: the user is the actor)."""

    reason = PasswordEvent.RESET_BY_EMAIL

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["data-testid"] = name.replace("_", "-")

    def save(self, commit=True):
        self.user = services.set_password(self.user, self.cleaned_data["new_password1"], actor=self.user,
                                          reason=self.reason)
        return self.user


class TwoFactorCodeForm(forms.Form):
    """The six digits an authenticator app shows."""

    code = forms.CharField(
        label=pgettext_lazy("one-time code", "Code"), max_length=10, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "data-testid": "two-factor-code"}),
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise ValidationError(_("Enter the digits your authenticator app shows."))
        return code
