import subprocess
import sys

import pytest
from django.core.exceptions import PermissionDenied

from crm.core.audit import acting_as, audit_context, current
from crm.core.models import AuditEntry
from crm.core.pagination import capped_count
from crm.core.phones import format_phone, phone_search_prefix
from crm.core.text import pinyin_keys, prefix_range


@pytest.mark.parametrize("text,full,initials", [
    ("北京星通", "beijingxingtong", "bjxt"),
    ("重庆长安汽车", "chongqingchanganqiche", "cqcaqc"),
    ("ABC 华为 2号", "abchuawei2hao", "abchw2h"),
    ("", "", ""),
])
def test_pinyin_keys(text, full, initials):
    assert pinyin_keys(text) == (full, initials)


def test_prefix_range_bounds_exactly_the_prefix():
    low, high = prefix_range("bjxt")
    keys = ["bjxs", "bjxt", "bjxtkj", "bjxtz", "bjxu", "bjy"]
    assert [k for k in keys if low <= k < high] == ["bjxt", "bjxtkj", "bjxtz"]


@pytest.mark.parametrize("typed,prefix", [
    ("1381", "+861381"),
    ("138", None),
    ("138 1234", "+861381234"),
    ("010-1234", "+86101234"),
    ("+86 1381", "+861381"),
    ("0044 20", "+4420"),
    ("13", None),
    ("bjxt", None),
    ("", None),
])
def test_phone_search_prefix(typed, prefix):
    assert phone_search_prefix(typed) == prefix


def test_format_phone():
    assert format_phone("+8613812345678") == "138 1234 5678"
    assert format_phone("+861012345678") == "010 1234 5678"
    assert format_phone("+14155550132").startswith("+1 415")
    assert format_phone("") == ""


def test_audit_context_nests_and_restores():
    assert current().actor is None
    with audit_context(ip_address="10.0.0.1", source="web"):
        with acting_as("someone") as ctx:
            assert (ctx.actor, ctx.ip_address, ctx.source) == ("someone", "10.0.0.1", "web")
        assert current().actor is None and current().ip_address == "10.0.0.1"
    assert current().ip_address is None


@pytest.mark.django_db
def test_audit_entries_cannot_be_changed_or_deleted(org):
    entry = AuditEntry.objects.filter(object_repr=org.rep.username).first() or AuditEntry.objects.first()
    assert entry is not None
    entry.object_repr = "tampered"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
    entry.refresh_from_db()
    assert entry.object_repr != "tampered"


@pytest.mark.django_db
def test_request_address_and_user_recorded(org, client):
    from crm.customers.models import Customer
    from crm.customers.services import create_customer

    with audit_context(ip_address="192.0.2.7", source="web"):
        c = create_customer(actor=org.rep, data={"name": "审计测试"})
    entry = AuditEntry.objects.get(object_id=str(c.pk), content_type__model="customer")
    assert (entry.actor, entry.ip_address, entry.source, entry.action) == (org.rep, "192.0.2.7", "web", "create")
    assert Customer.objects.filter(pk=c.pk).exists()


@pytest.mark.django_db
def test_capped_count(org):
    from crm.customers.models import Customer
    from crm.customers.tests.factories import CustomerFactory

    CustomerFactory.create_batch(7)
    assert capped_count(Customer.objects.all(), cap=10) == (7, False)
    assert capped_count(Customer.objects.all(), cap=5) == (5, True)


def test_production_settings_pass_deploy_check(tmp_path):
    """`manage.py check --deploy` is clean with production settings and a real secret."""
    env = {
        "CRM_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-that-is-long-and-random-1234567890",
        "ALLOWED_HOSTS": "crm.example.com",
        "CRM_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {"CRM_ENV": "production", "CRM_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def _settings_value(name, **environ):
    env = {"CRM_VAR_DIR": environ.pop("CRM_VAR_DIR"), "PATH": "/usr/bin:/bin", **environ}
    code = f"import django; from django.conf import settings; django.setup(); print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", code], env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("environ, debug", [
    ({}, "False"),                                # the embedded default (`make run`) is not a debug server
    ({"CRM_ENV": "development"}, "False"),
    ({"DEBUG": "true"}, "True"),                  # a developer asks for it explicitly
    ({"DEBUG": "0"}, "False"),
])
def test_debug_only_with_the_explicit_flag(tmp_path, environ, debug):
    assert _settings_value("DEBUG", CRM_VAR_DIR=str(tmp_path), **environ) == debug


@pytest.mark.django_db
def test_embedded_default_serves_static_files_without_debug(client, settings):
    assert settings.DEBUG is False  # as under `make run`: whitenoise serves the files, not runserver
    response = client.get("/static/crm/app.css")
    assert response.status_code == 200
