"""The audit log pages (read-only) and the custom field definitions pages."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.accounts.models import OrgUnit
from crm.core import audit, views
from crm.core.choices import AuditAction, CustomFieldType
from crm.core.custom_fields import clean_custom_fields
from crm.core.models import AuditEntry, CustomFieldDefinition
from crm.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db


def _pages():
    return [reverse("core:audit_list"), reverse("core:customfield_list"), reverse("core:customfield_create")]


def test_anonymous_is_sent_to_login(client, org):
    entry = AuditEntry.objects.first()
    for url in [*_pages(), reverse("core:audit_detail", args=[entry.pk])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("username", ["rep", "manager", "bj_region_mgr", "viewer", "no_role"])
def test_users_without_manage_settings_get_403(client, org, username):
    client.force_login(getattr(org, username))
    entry = AuditEntry.objects.first()
    for url in [*_pages(), reverse("core:audit_detail", args=[entry.pk])]:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("username", ["admin", "ceo"])
def test_users_with_manage_settings_see_the_pages(client, org, username):
    client.force_login(getattr(org, username))
    entry = AuditEntry.objects.first()
    for url in [*_pages(), reverse("core:audit_detail", args=[entry.pk])]:
        assert client.get(url).status_code == 200, url


# --- audit log ----------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, org):
    client.force_login(org.admin)
    return client


def _rename(unit, name, actor):
    with audit.acting_as(actor):
        unit.name = name
        unit.save()


def test_audit_list_newest_first_with_before_and_after(admin_client, org):
    _rename(org.bj2, "北京二组（新）", org.admin)
    response = admin_client.get(reverse("core:audit_list"))
    entries = response.context["entries"]
    assert [e.pk for e in entries] == sorted((e.pk for e in entries), reverse=True)
    newest = entries[0]
    assert newest.action == AuditAction.UPDATE and newest.object_id == str(org.bj2.pk)
    row = next(r for r in newest.change_rows if r["key"] == "name")
    assert (row["before"], row["after"]) == ("北京二组", "北京二组（新）")
    content = response.content.decode()
    assert "北京二组（新）" in content and 'data-testid="audit-row"' in content


def test_audit_detail_shows_each_field(admin_client, org):
    _rename(org.bj2, "二组", org.admin)
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE).latest("id")
    response = admin_client.get(reverse("core:audit_detail", args=[entry.pk]))
    content = response.content.decode()
    assert 'data-testid="audit-change-name"' in content
    assert "北京二组" in content and "二组" in content


def test_audit_filters(admin_client, org):
    _rename(org.bj2, "改名一", org.ceo)
    _rename(org.sh1, "改名二", org.admin)
    unit_type = ContentType.objects.get_for_model(OrgUnit)
    url = reverse("core:audit_list")

    def ids(**params):
        return {e.pk for e in admin_client.get(url, params).context["entries"]}

    by_ceo = ids(user=org.ceo.pk)
    assert by_ceo == set(AuditEntry.objects.filter(actor=org.ceo).values_list("pk", flat=True)) and by_ceo
    updates = ids(action=AuditAction.UPDATE, record_type=unit_type.pk)
    expected = AuditEntry.objects.filter(action="update", content_type=unit_type).values_list("pk", flat=True)
    assert updates == set(expected)
    assert {AuditEntry.objects.get(pk=pk).object_id for pk in ids(object_id=str(org.sh1.pk),
                                                                     record_type=unit_type.pk)} == {str(org.sh1.pk)}
    today = timezone.localdate()
    newest = set(AuditEntry.objects.order_by("-id").values_list("pk", flat=True)[:50])
    assert ids(date_from=today.isoformat(), date_to=today.isoformat()) == newest
    assert ids(date_to=(today - datetime.timedelta(days=1)).isoformat()) == set()
    assert ids(date_from="not-a-date") == set()


def test_audit_list_htmx_returns_rows_only(admin_client, org):
    response = admin_client.get(reverse("core:audit_list"), headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode()
    assert 'data-testid="audit-table"' in response.content.decode()


def test_audit_keyset_pagination(admin_client, org, monkeypatch):
    monkeypatch.setattr(views, "AUDIT_PAGE_SIZE", 5)
    all_ids = list(AuditEntry.objects.order_by("-id").values_list("pk", flat=True))
    assert len(all_ids) > 12
    url = reverse("core:audit_list")
    seen, next_url = [], url
    while next_url:
        response = admin_client.get(next_url)
        seen += [e.pk for e in response.context["entries"]]
        next_url = response.context["older_url"]
    assert seen == all_ids
    # ... and back: "newer" from the third page gives the second page.
    second = admin_client.get(url)
    second = admin_client.get(second.context["older_url"])
    third = admin_client.get(second.context["older_url"]).context
    back = admin_client.get(third["newer_url"]).context["entries"]
    assert [e.pk for e in back] == [e.pk for e in second.context["entries"]] == all_ids[5:10]
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(second.context["older_url"])
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_audit_list_query_count_does_not_grow_with_rows(admin_client, org):
    url = reverse("core:audit_list")
    params = {"record_type": ContentType.objects.get_for_model(OrgUnit).pk, "action": AuditAction.UPDATE}
    _rename(org.bj2, "一", org.admin)
    admin_client.get(url, params)
    with CaptureQueriesContext(connection) as few:
        assert len(admin_client.get(url, params).context["entries"]) == 1
    for i in range(20):
        _rename(org.bj2 if i % 2 else org.sh1, f"名{i}", org.ceo if i % 3 else org.admin)
    with CaptureQueriesContext(connection) as many:
        assert len(admin_client.get(url, params).context["entries"]) == 21
    assert len(many) == len(few)


def test_audit_log_cannot_be_changed(admin_client, org):
    entry = AuditEntry.objects.first()
    before = (entry.changes, entry.object_repr, AuditEntry.objects.count())
    for url in (reverse("core:audit_list"), reverse("core:audit_detail", args=[entry.pk])):
        assert admin_client.post(url, {"object_repr": "forged"}).status_code == 405
        assert admin_client.delete(url).status_code == 405
    entry.object_repr = "forged"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.get(pk=entry.pk).delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.changes, entry.object_repr, AuditEntry.objects.count()) == before
    content = admin_client.get(reverse("core:audit_detail", args=[entry.pk])).content.decode()
    assert "<form" not in content.split("<main", 1)[1]


# --- custom fields -------------------------------------------------------------------------------------
def _field_data(**overrides):
    data = {"content_type": ContentType.objects.get_for_model(Customer).pk, "key": "contract_no",
            "label": "合同号", "field_type": CustomFieldType.TEXT, "choices_text": "", "required": "",
            "help_text": "", "position": 1, "active": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in (None, "")}


def test_custom_field_model_choices_are_the_custom_fields_models(admin_client, org):
    form = admin_client.get(reverse("core:customfield_create")).context["form"]
    models = {ct.model_class() for ct in form.fields["content_type"].queryset}
    from django.apps import apps

    from crm.core.models import CustomFieldsModel

    expected = {m for m in apps.get_models() if issubclass(m, CustomFieldsModel)}
    assert {Customer, Contact} <= models and models == expected


def test_create_custom_field_is_audited(admin_client, org):
    response = admin_client.post(reverse("core:customfield_create"), _field_data())
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get(key="contract_no")
    entry = AuditEntry.objects.get(content_type=ContentType.objects.get_for_model(CustomFieldDefinition),
                                   object_id=str(definition.pk))
    assert entry.action == AuditAction.CREATE and entry.actor == org.admin
    assert entry.changes["label"] == [None, "合同号"]
    content = admin_client.get(reverse("core:customfield_list")).content.decode()
    assert 'data-key="contract_no"' in content


def test_choice_field_needs_choices_and_keeps_them_in_order(admin_client, org):
    response = admin_client.post(reverse("core:customfield_create"),
                                 _field_data(key="level", field_type=CustomFieldType.CHOICE))
    assert response.status_code == 400
    assert response.context["form"].errors["choices_text"]
    response = admin_client.post(reverse("core:customfield_create"), _field_data(
        key="level", field_type=CustomFieldType.CHOICE, choices_text="金牌\r\n银牌\n\n 铜牌 \n银牌"))
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get(key="level")
    assert definition.choices == ["金牌", "银牌", "铜牌"]
    assert clean_custom_fields(Customer, {"level": "银牌"}) == {"level": "银牌"}


def test_non_choice_field_drops_choices(admin_client, org):
    admin_client.post(reverse("core:customfield_create"), _field_data(choices_text="a\nb"))
    assert CustomFieldDefinition.objects.get(key="contract_no").choices == []


@pytest.mark.parametrize("key", ["has space", "中文", "a/b", ""])
def test_key_must_be_a_slug(admin_client, org, key):
    response = admin_client.post(reverse("core:customfield_create"), _field_data(key=key))
    assert response.status_code == 400
    assert response.context["form"].errors["key"]
    assert not CustomFieldDefinition.objects.exists()


def test_key_is_unique_per_model(admin_client, org):
    assert admin_client.post(reverse("core:customfield_create"), _field_data()).status_code == 302
    response = admin_client.post(reverse("core:customfield_create"), _field_data(label="again"))
    assert response.status_code == 400
    assert CustomFieldDefinition.objects.filter(key="contract_no").count() == 1
    # The same key on another model is fine.
    contact_type = ContentType.objects.get_for_model(Contact).pk
    assert admin_client.post(reverse("core:customfield_create"),
                             _field_data(content_type=contact_type)).status_code == 302


def test_edit_custom_field_keeps_key_and_model_and_audits_the_change(admin_client, org):
    admin_client.post(reverse("core:customfield_create"), _field_data())
    definition = CustomFieldDefinition.objects.get(key="contract_no")
    contact_type = ContentType.objects.get_for_model(Contact).pk
    response = admin_client.post(reverse("core:customfield_edit", args=[definition.pk]), _field_data(
        key="renamed", content_type=contact_type, label="合同编号", required="on", active=None))
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.key, definition.content_type.model_class()) == ("contract_no", Customer)
    assert (definition.label, definition.required, definition.active) == ("合同编号", True, False)
    entry = AuditEntry.objects.filter(object_id=str(definition.pk), action=AuditAction.UPDATE).get()
    assert entry.changes["label"] == ["合同号", "合同编号"]
    assert entry.changes["active"] == [True, False]
    assert "key" not in entry.changes


def test_non_admin_cannot_post_a_custom_field(client, org):
    client.force_login(org.bj_region_mgr)
    assert client.post(reverse("core:customfield_create"), _field_data()).status_code == 403
    assert not CustomFieldDefinition.objects.exists()
