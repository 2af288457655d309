"""Permissions: a registry of per-model rights that roles grant, and the check every service makes.

Each app declares its rights in its own ``permissions.py`` and registers them from
``AppConfig.ready()`` (core knows no domain app, and accounts does not list other apps' rights)::

    permissions.register("sales.change_order", _("change orders"), app_label="sales", legacy_verb="change")

A code is ``<app_label>.<codename>`` — ``customers.view_customer``, ``sales.manage_catalogue``,
``analytics.refresh``.  A role stores the codes it grants (``Role.permissions``); ``user.can(code)``
asks whether the user's role grants it, and superusers hold every registered code.  Services call
:func:`require` (or an app's predicate built on ``user.can``), views use
:func:`crm.core.views.permission_required` and API views declare ``permission_codes``
(:class:`crm.core.api.CodePermission`).

``legacy_verb`` names the global verb (view, create, change, delete, export, assign, manage_settings)
that guarded the same checks before rights were per model; :func:`codes_for_verbs` expands those verbs
to codes for readable role set-ups (demo data, tests).  A new right that no old verb granted leaves it
out.  The migration that converted the stored roles froze its own copy of that mapping.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MANAGE_SETTINGS = "core.manage_settings"  # custom fields, the audit log, the settings menu


@dataclass(frozen=True)
class Permission:
    code: str
    label: str  # lazily translated
    app_label: str
    legacy_verb: str = ""
    order: int = 0

    @property
    def codename(self) -> str:
        return self.code.partition(".")[2]


@dataclass(frozen=True)
class PermissionGroup:
    app_label: str
    verbose_name: str
    permissions: list


_registry: dict[str, Permission] = {}


def register(code: str, label, *, app_label: str, legacy_verb: str = "") -> Permission:
    """Declare the right ``code`` ("<app_label>.<codename>"), shown in the role editor as ``label``."""
    prefix, dot, codename = code.partition(".")
    if not dot or not codename or prefix != app_label:
        raise ValueError(f"A permission code is '<app_label>.<codename>' with app label {app_label!r}: {code!r}")
    existing = _registry.get(code)
    entry = Permission(code=code, label=label, app_label=app_label, legacy_verb=legacy_verb,
                       order=existing.order if existing else len(_registry))
    _registry[code] = entry
    return entry


def register_all(app_label: str, rights: Iterable[tuple]) -> None:
    """Register ``(codename, label, legacy_verb)`` rows of one app, in the order the role editor shows them."""
    for codename, label, legacy_verb in rights:
        register(f"{app_label}.{codename}", label, app_label=app_label, legacy_verb=legacy_verb)


def registered() -> list[Permission]:
    """Every registered right, in the order the apps declared them."""
    return sorted(_registry.values(), key=lambda p: p.order)


def codes() -> frozenset:
    return frozenset(_registry)


def get(code: str) -> Permission | None:
    return _registry.get(code)


def label(code: str) -> str:
    entry = _registry.get(code)
    return str(entry.label) if entry else code


def grouped() -> list[PermissionGroup]:
    """The registered rights grouped by app (in the order of INSTALLED_APPS), with the app's verbose name."""
    by_app: dict[str, list[Permission]] = {}
    for entry in registered():
        by_app.setdefault(entry.app_label, []).append(entry)
    order = {config.label: i for i, config in enumerate(apps.get_app_configs())}
    groups = []
    for app_label in sorted(by_app, key=lambda a: (order.get(a, len(order)), a)):
        try:
            verbose_name = apps.get_app_config(app_label).verbose_name
        except LookupError:
            verbose_name = app_label
        groups.append(PermissionGroup(app_label, verbose_name, by_app[app_label]))
    return groups


def codes_for_verbs(verbs: Iterable[str]) -> list[str]:
    """The codes that the old global verbs granted, in registry order (for demo data and test set-ups)."""
    wanted = {str(v) for v in verbs}
    return [p.code for p in registered() if p.legacy_verb and p.legacy_verb in wanted]


def register_core() -> None:
    """Core's own rights (called from CoreConfig.ready)."""
    register(MANAGE_SETTINGS, gettext_lazy("manage settings: custom fields, the audit log"),
             app_label="core", legacy_verb="manage_settings")


def has(user, code: str) -> bool:
    """True when ``user`` is signed in, active and granted ``code``."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.can(code))


def has_any(user, *wanted: str) -> bool:
    return any(has(user, code) for code in wanted)


def require(actor, code: str) -> None:
    """Raise ``PermissionDenied`` (with the right's label) unless ``actor`` is granted ``code``."""
    if not has(actor, code):
        raise PermissionDenied(_("Your role does not allow: %(action)s.") % {"action": label(code)})
