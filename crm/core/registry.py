"""Registries where later apps take part in what an earlier app shows or does.

Dependencies between the apps run one way (a later app may import an earlier one, never the reverse).
When an earlier app must let later ones contribute — a panel on the customer's 360° page, a kind of
timeline event or to-do, a menu entry, a filter or column of a list — it reads one of the registries
below, and the later app registers into it from its ``AppConfig.ready()``, as :mod:`crm.core.schedule`
does for periodic tasks::

    registry.timeline_kinds.register(Kind("order", _("order"), order=10))
    registry.panels.register("customer_detail", Panel("sales.orders", "sales/partials/customer_orders.html",
                                                      order=10, context=customer_orders_context))

Every entry has a stable ``key``; entries come back sorted by ``order`` (then key).  Registering the
same key twice with an equal entry is harmless (``ready()`` may run more than once in tests); a
different entry under a key already taken is a configuration error.

Core knows no domain app: the registries hold plain data and callables.  Where an entry depends on a
right, it carries a ``visible(user)`` / ``allowed(user)`` callable, so the check lives in one place.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import permissions


class Registry:
    """Entries with a unique ``key`` and an ``order``."""

    def __init__(self, name: str):
        self.name = name
        self._entries: dict[str, Any] = {}
        self._sorted: list | None = None  # entries in order, kept until the next (un)registration

    def register(self, entry):
        existing = self._entries.get(entry.key)
        if existing is not None:
            if existing != entry:
                raise ImproperlyConfigured(f"{self.name}: {entry.key!r} is registered twice.")
            return existing
        self._entries[entry.key] = entry
        self._sorted = None
        return entry

    def unregister(self, key: str) -> None:
        self._entries.pop(key, None)
        self._sorted = None

    def entries(self) -> list:
        # Read on every page (menus, panels, kinds): sorted once, not per call.
        if self._sorted is None:
            self._sorted = sorted(self._entries.values(), key=lambda e: (e.order, e.key))
        return list(self._sorted)

    def get(self, key: str, default=None):
        return self._entries.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def __iter__(self):
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)


class SlotRegistry:
    """One :class:`Registry` per slot (a page region, or a model label like ``"customers.customer"``)."""

    def __init__(self, name: str):
        self.name = name
        self._slots: dict[str, Registry] = {}

    def slot(self, slot: str) -> Registry:
        if slot not in self._slots:
            self._slots[slot] = Registry(f"{self.name}[{slot}]")
        return self._slots[slot]

    def register(self, slot: str, entry):
        return self.slot(slot).register(entry)

    def unregister(self, slot: str, key: str) -> None:
        self.slot(slot).unregister(key)

    def entries(self, slot: str) -> list:
        return self.slot(slot).entries()


def _always(user) -> bool:
    return True


def manages_settings(user) -> bool:
    """Who sees core's settings entries (custom fields, the audit log); other apps' entries carry their own
    predicates (``accounts.permissions.can_manage_users`` …)."""
    return permissions.has(user, permissions.MANAGE_SETTINGS)


# --- kinds of timeline events and to-dos ------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """A kind of timeline event or to-do: the stored ``code`` (at most 12 characters) and its label.
    ``tab``: a timeline kind that gets its own filter tab on the 360° page."""

    code: str
    label: Any
    order: int = 100
    tab: bool = False

    @property
    def key(self) -> str:
        return self.code


class KindRegistry(Registry):
    def choices(self) -> list[tuple[str, Any]]:
        return [(kind.code, kind.label) for kind in self.entries()]

    def label(self, code: str):
        kind = self.get(code)
        return kind.label if kind is not None else code


timeline_kinds = KindRegistry("timeline kinds")
todo_kinds = KindRegistry("to-do kinds")


# --- menus ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MenuEntry:
    """A link in a menu.  ``key`` is also what a page names in ``{% block nav_active %}`` to be
    highlighted; ``testid`` becomes the link's ``data-testid`` (none when empty)."""

    key: str
    label: Any
    url_name: str
    order: int = 100
    visible: Callable = _always
    testid: str = ""


main_menu = Registry("main menu")
settings_menu = Registry("settings menu")


# --- panels on pages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """A section a later app adds to a page.  ``context(request, obj)`` returns the template's variables
    (merged into the page's context); ``column`` places it where the page has several."""

    key: str
    template: str
    order: int = 100
    context: Callable | None = None
    column: str = "main"


panels = SlotRegistry("panels")


def panel_context(slot: str, request, obj) -> dict:
    """The panels of ``slot`` by column (``panels_<column>``) and the context they contribute."""
    context: dict[str, Any] = {}
    by_column: dict[str, list[Panel]] = {}
    for panel in panels.entries(slot):
        if panel.context is not None:
            context.update(panel.context(request, obj))
        by_column.setdefault(panel.column, []).append(panel)
    for column, entries in by_column.items():
        context[f"panels_{column}"] = entries
    return context


# --- filters and columns other apps add to a model's list --------------------------------------------

@dataclass(frozen=True)
class ListFilter:
    """A filter another app adds to a model's list (page, API and export).  ``filter`` builds a fresh
    ``django_filters.Filter`` (its ``method`` may be any callable); ``annotate(queryset)`` adds the
    columns the filter reads, applied only when the filter is used."""

    key: str
    filter: Callable
    order: int = 100
    annotate: Callable | None = None


list_filters = SlotRegistry("list filters")
# Entries are :class:`crm.core.tables.Column` objects (see :func:`crm.core.tables.contribute`).
list_columns = SlotRegistry("list columns")


class _ContributedFilters:
    """A FilterSet's ``base_filters``: its own, then those registered for its model, read when used (so
    the page, the API and its schema all see them, whatever the order the apps load in)."""

    def __init__(self, declared: dict, label: str):
        self.declared, self.label = declared, label

    def __get__(self, instance, owner):
        return {**self.declared, **{entry.key: entry.filter() for entry in list_filters.entries(self.label)}}


def with_list_filters(label: str):
    """Class decorator for a django-filters ``FilterSet``: add the filters other apps register for the
    model ``label`` (e.g. ``"customers.customer"``)."""

    def decorate(filterset_class):
        filterset_class.base_filters = _ContributedFilters(dict(filterset_class.base_filters), label)
        return filterset_class

    return decorate


# --- services an earlier app needs from a later one ----------------------------------------------------

@dataclass(frozen=True)
class Provider:
    key: str
    function: Callable
    order: int = 0


providers = Registry("providers")


def provide(name: str, function: Callable) -> None:
    """Offer ``function`` under ``name`` (one provider per name), e.g. activities offers
    ``"todos.create"`` so that customers can write pool warnings without importing activities."""
    providers.register(Provider(name, function))


def call(name: str, *args, **kwargs):
    """Call the provider of ``name``; a missing provider is a configuration error."""
    provider = providers.get(name)
    if provider is None:
        raise ImproperlyConfigured(f"Nothing provides {name!r}: is the app that offers it installed?")
    return provider.function(*args, **kwargs)

