"""The registries where later apps take part in earlier apps' pages, and the one-way app graph."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from crm.core import depgraph, registry
from crm.core.registry import Kind, KindRegistry, MenuEntry, Panel, Registry, SlotRegistry
from crm.customers.tests.factories import CustomerFactory

ROOT = Path(depgraph.__file__).resolve().parent.parent


# --- the registries -----------------------------------------------------------------------------------

def test_entries_come_back_by_order_then_key():
    reg = Registry("test")
    reg.register(MenuEntry("b", "B", "x:b", order=20))
    reg.register(MenuEntry("c", "C", "x:c", order=10))
    reg.register(MenuEntry("a", "A", "x:a", order=20))
    assert [e.key for e in reg] == ["c", "a", "b"]
    assert "a" in reg and len(reg) == 3 and reg.get("c").label == "C"
    reg.unregister("a")
    assert [e.key for e in reg.entries()] == ["c", "b"]


def test_registering_a_key_twice():
    reg = Registry("test")
    entry = MenuEntry("a", "A", "x:a")
    reg.register(entry)
    reg.register(MenuEntry("a", "A", "x:a"))  # the same entry again (ready() run twice): harmless
    assert len(reg) == 1
    with pytest.raises(ImproperlyConfigured, match="'a' is registered twice"):
        reg.register(MenuEntry("a", "Other", "x:a"))
    assert reg.get("a") is entry


def test_kinds_give_choices_and_labels():
    kinds = KindRegistry("kinds")
    kinds.register(Kind("late", "Late", order=20))
    kinds.register(Kind("early", "Early", order=10, tab=True))
    assert kinds.choices() == [("early", "Early"), ("late", "Late")]
    assert kinds.label("late") == "Late" and kinds.label("unknown") == "unknown"


def test_slots_are_separate():
    slots = SlotRegistry("panels")
    slots.register("one", Panel("p", "t.html", order=2))
    slots.register("two", Panel("p", "other.html"))  # the same key in another slot
    assert [p.template for p in slots.entries("one")] == ["t.html"]
    assert [p.template for p in slots.entries("two")] == ["other.html"]
    assert slots.entries("three") == []


def test_panel_context_merges_contexts_by_column(monkeypatch):
    monkeypatch.setattr(registry, "panels", SlotRegistry("panels"))
    registry.panels.register("page", Panel("b", "b.html", order=2, context=lambda request, obj: {"b": obj}))
    registry.panels.register("page", Panel("a", "a.html", order=1, column="side"))
    registry.panels.register("page", Panel("c", "c.html", order=3, context=lambda request, obj: {"c": 1}))
    context = registry.panel_context("page", None, "obj")
    assert context["b"] == "obj" and context["c"] == 1
    assert [p.key for p in context["panels_main"]] == ["b", "c"]
    assert [p.key for p in context["panels_side"]] == ["a"]


def test_providers():
    registry.provide("tests.double", _double)
    try:
        registry.provide("tests.double", _double)  # again: harmless
        assert registry.call("tests.double", 21) == 42
        with pytest.raises(ImproperlyConfigured):
            registry.provide("tests.double", abs)
    finally:
        registry.providers.unregister("tests.double")
    with pytest.raises(ImproperlyConfigured, match="Nothing provides 'tests.double'"):
        registry.call("tests.double", 1)


def _double(value):
    return value * 2


def test_the_apps_registered_their_kinds():
    assert [code for code, _label in registry.timeline_kinds.choices()] == [
        "order", "interaction", "ownership", "case", "note"]
    assert [k.code for k in registry.timeline_kinds if k.tab] == ["order", "interaction", "ownership", "case"]
    assert [code for code, _label in registry.todo_kinds.choices()] == [
        "follow_up", "task", "pool_warning", "value_alert"]
    assert [p.key for p in registry.panels.entries("customer_detail")] == [
        "analytics.value", "sales.orders", "activities.timeline"]


# --- pages built from the registries -----------------------------------------------------------------

def _nav(html):
    return html[html.index('<nav class="mainnav"'):html.index("</nav>")]


def test_menu_comes_from_the_registry_and_hides_what_the_user_may_not_see(client, org, monkeypatch):
    client.force_login(org.rep)
    nav = _nav(client.get(reverse("activities:my_day")).content.decode())
    for entry in registry.main_menu:
        assert f'href="{reverse(entry.url_name)}"' in nav
    # The page names its entry in {% block nav_active %}: that link, and only that one, is highlighted.
    assert 'class="active" data-testid="nav-my-day"' in nav and nav.count('class="active"') == 1
    assert 'data-testid="nav-settings"' not in nav  # no settings right, no settings menu

    client.force_login(org.admin)
    nav = _nav(client.get(reverse("activities:my_day")).content.decode())
    assert 'data-testid="nav-settings"' in nav
    for entry in registry.settings_menu:
        assert f'href="{reverse(entry.url_name)}"' in nav

    monkeypatch.setattr(registry, "main_menu", Registry("main menu"))
    registry.main_menu.register(MenuEntry("shown", "Shown here", "customers:list", testid="nav-shown"))
    registry.main_menu.register(MenuEntry("hidden", "Never shown", "customers:pool", visible=lambda user: False))
    nav = _nav(client.get(reverse("activities:my_day")).content.decode())
    assert 'data-testid="nav-shown"' in nav and "Never shown" not in nav and "Customer pool" not in nav


def test_customer_page_shows_the_contributed_panels_in_order(client, org):
    customer = CustomerFactory(owner=org.rep, branch=org.bj1)
    client.force_login(org.rep)
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    positions = [html.index(f'data-testid="{testid}"') for testid in (
        "customer-profile", "customer-orders", "log-interaction", "customer-timeline")]
    assert positions == sorted(positions)
    side = [html.index(f'data-testid="{testid}"') for testid in ("customer-value-panel", "customer-owner")]
    assert side == sorted(side)


def test_a_new_panel_takes_its_place_on_the_customer_page_and_my_day(client, org, monkeypatch, tmp_path, settings):
    (tmp_path / "extra.html").write_text('<section data-testid="extra-panel">{{ extra_text }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], str(tmp_path)]}]
    monkeypatch.setattr(registry, "panels", SlotRegistry("panels"))
    for slot in ("customer_detail", "my_day"):
        registry.panels.register(slot, Panel("tests.extra", "extra.html",
                                             context=lambda request, obj: {"extra_text": f"about {obj}"}))
    customer = CustomerFactory(owner=org.rep, branch=org.bj1, name="Extra Ltd")
    client.force_login(org.rep)
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert '<section data-testid="extra-panel">about Extra Ltd</section>' in html
    assert 'data-testid="customer-orders"' not in html  # only registered panels are shown
    html = client.get(reverse("activities:my_day")).content.decode()
    assert f'<section data-testid="extra-panel">about {org.rep}</section>' in html


# --- the app graph --------------------------------------------------------------------------------------

def test_apps_import_each_other_in_one_direction_only():
    graph = depgraph.build(ROOT)
    assert set(graph.apps) == set(depgraph.APP_ORDER)
    assert graph.faults() == []
    assert graph.cycles() == []


def test_customers_imports_no_later_app():
    graph = depgraph.build(ROOT)
    later = set(depgraph.APP_ORDER[depgraph.APP_ORDER.index("customers") + 1:])
    assert {imp.target for imp in graph.imports if imp.source == "customers"} & later == set()
    assert {imp.target for imp in graph.imports if imp.source == "core"} == set()


def test_architecture_doc_shows_the_current_graph():
    doc = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert depgraph.docs_section(depgraph.build(ROOT)) in doc, (
        "Refresh it: python -m crm.core.depgraph --write-docs docs/architecture.md")


def _app(root, name, files):
    app = root / name
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(files.pop("apps.py", ""))
    for path, text in files.items():
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        (app / path).write_text(text)


@pytest.fixture
def fake_crm(tmp_path):
    root = tmp_path / "crm"
    _app(root, "core", {})
    _app(root, "accounts", {"models.py": "from crm.core import models\n"})
    _app(root, "customers", {"services.py": "from ..accounts import models\nfrom . import queries\n"})
    return root


def test_the_graph_script_passes_a_clean_tree(fake_crm, capsys):
    assert depgraph.main(["--root", str(fake_crm)]) == 0
    out = capsys.readouterr().out
    assert "customers --> accounts" in out and "accounts --> core" in out and "```mermaid" in out


def test_the_graph_script_fails_on_an_upward_import(fake_crm, capsys):
    (fake_crm / "accounts" / "views.py").write_text("from crm.customers.services import thing\n")
    assert depgraph.main(["--root", str(fake_crm)]) == 1
    err = capsys.readouterr().err
    assert "accounts imports the later app customers" in err and "loop between apps" in err


def test_the_graph_script_fails_on_an_import_inside_a_function(fake_crm):
    (fake_crm / "customers" / "views.py").write_text(
        "def view():\n    from crm.accounts.models import User\n    return User\n")
    assert depgraph.build(fake_crm).faults() == [
        "crm/customers/views.py:2: customers imports accounts inside a function"]


def test_ready_may_import_other_apps_and_tests_do_not_count(fake_crm):
    (fake_crm / "customers" / "apps.py").write_text(
        "class Config:\n    def ready(self):\n        from crm.core import registry\n")
    (fake_crm / "customers" / "tests").mkdir()
    (fake_crm / "customers" / "tests" / "test_x.py").write_text("from crm.demo import x\n")
    (fake_crm / "core" / "migrations").mkdir()
    (fake_crm / "core" / "migrations" / "0001.py").write_text("from crm.customers import models\n")
    assert depgraph.build(fake_crm).faults() == []


def test_the_graph_script_fails_on_an_app_out_of_order(fake_crm):
    _app(fake_crm, "tickets", {})
    assert depgraph.build(fake_crm).faults() == ["app 'tickets' is not in APP_ORDER"]


def test_the_graph_script_writes_the_docs(fake_crm, tmp_path):
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Title\n\n{depgraph.DOC_START}\nold\n{depgraph.DOC_END}\n\nAfter.\n")
    assert depgraph.write_docs(depgraph.build(fake_crm), doc)
    text = doc.read_text()
    assert text.startswith("# Title\n\n") and text.endswith("\n\nAfter.\n") and "customers --> accounts" in text
    assert not depgraph.write_docs(depgraph.build(fake_crm), doc)


def _name_filter():
    import django_filters

    return django_filters.CharFilter(field_name="name", lookup_expr="istartswith", label="Name starts with")


def test_a_filterset_takes_the_filters_registered_for_its_model(monkeypatch, org):
    import django_filters

    from crm.customers.models import Customer

    monkeypatch.setattr(registry, "list_filters", SlotRegistry("list filters"))

    @registry.with_list_filters("tests.customer")
    class Filters(django_filters.FilterSet):
        city = django_filters.CharFilter()

        class Meta:
            model = Customer
            fields = []

    assert list(Filters.base_filters) == ["city"]
    registry.list_filters.register("tests.customer", registry.ListFilter("starts", _name_filter))
    assert list(Filters.base_filters) == ["city", "starts"]
    CustomerFactory(name="Alpha", owner=org.rep)
    CustomerFactory(name="Beta", owner=org.rep)
    filterset = Filters({"starts": "al"}, queryset=Customer.objects.all())
    assert [c.name for c in filterset.qs] == ["Alpha"]


def test_customer_list_filters_and_columns_come_from_analytics():
    from crm.customers.filtersets import CustomerFilterSet, metric_orderings

    assert metric_orderings() == ("clv", "p_alive", "loyalty")
    assert list(CustomerFilterSet.base_filters)[-8:] == [
        "segment", "tier", "value_class", "at_risk", "due_this_week", "buying", "clv_min", "clv_max"]


def test_entries_are_sorted_once_and_again_after_a_change():
    reg = registry.Registry("tests")
    reg.register(registry.Kind("b", "B", order=2))
    reg.register(registry.Kind("a", "A", order=1))
    first = reg.entries()
    assert [k.code for k in first] == ["a", "b"]
    first.append("mutated by a caller")
    assert [k.code for k in reg.entries()] == ["a", "b"]  # callers get a copy
    reg.register(registry.Kind("c", "C", order=0))
    assert [k.code for k in reg.entries()] == ["c", "a", "b"]
    reg.unregister("a")
    assert [k.code for k in reg.entries()] == ["c", "b"]


def test_an_event_and_a_todo_show_their_kind_label_from_the_registry():
    from crm.activities.models import TimelineEvent, Todo

    assert TimelineEvent(kind="interaction").get_kind_display() == registry.timeline_kinds.label("interaction")
    assert str(Todo(kind="task").get_kind_display()) == str(registry.todo_kinds.label("task"))
    assert TimelineEvent(kind="unknown").get_kind_display() == "unknown"
