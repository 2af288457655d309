"""The FilterSet base every app's filter sets inherit: filters on people and org units are narrowed to
what the caller may see.

A filter set names its filters that point at users (``scoped_people``) and at branches / teams
(``scoped_units``); the base narrows their querysets to the caller's scope, so the list page offers only
those choices and the page, the API (DRF passes the request) and the export all reject an id outside
the scope with the field's normal "Select a valid choice" error (a 400 on the API).

Core knows no user model: the app that owns users and units installs the narrowing with
:func:`set_scope_provider` in its ``AppConfig.ready()``.  A filter set built without a request (a
management command, a test of the filters themselves) is not narrowed.
"""

import django_filters

_providers = {"people": None, "units": None}


def set_scope_provider(*, people, units):
    """Install the narrowing: ``people(user)`` and ``units(user)`` return the querysets of users and of
    org units that ``user`` may filter by (in the order the choices are offered)."""
    _providers["people"] = people
    _providers["units"] = units


def scoped_choices(kind, user):
    provider = _providers[kind]
    if provider is None:
        raise RuntimeError(f"No scope provider for {kind!r}: the accounts app installs it in ready().")
    return provider(user)


class ScopedFilterSet(django_filters.FilterSet):
    scoped_people: tuple[str, ...] = ()
    scoped_units: tuple[str, ...] = ()

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, **kwargs):
        super().__init__(data, queryset, request=request, prefix=prefix, **kwargs)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        for kind, names in (("people", self.scoped_people), ("units", self.scoped_units)):
            for name in names:
                self.filters[name].queryset = scoped_choices(kind, user)
