"""Test helpers every app's tests use: a shared access contract for pages and API endpoints, and a
query-count guard.

Nothing here is collected as a test by itself (the module is not named ``test_*``); an app's
``tests/test_contracts.py`` subclasses the contracts, one short class per page or endpoint::

    class TestCustomerDetail(PageContract):
        url_name = "customers:detail"
        allowed, denied, scoped_out = "rep", ("no_role",), "sh_rep"

        def make_record(self, org):
            return CustomerFactory(owner=org.rep)

The users are names of the root ``org`` fixture's users (``rep`` sees only their own records, ``viewer``
may only view, ``no_role`` may do nothing, ``sh_rep`` works in another branch, ``admin`` is a
superuser).  Each subclass inherits four tests — anonymous, denied, allowed, allowed but scoped — and a
query-count test when it defines ``grow``.  The authorization matrix's URL guard
(crm/accounts/tests/test_authorization_matrix.py) counts every ``url_name`` declared here as covered.
"""

import difflib
import re
from collections.abc import Callable

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

__all__ = ["EndpointContract", "PageContract", "assert_queries_constant", "contract_classes"]


# --- query counts -------------------------------------------------------------------------------------------

def _shape(sql):
    """A query without its literal values, so the same query with other ids compares equal."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    return re.sub(r"\((?:\?, )+\?\)", "(?, …)", sql)


def assert_queries_constant(fn: Callable, grow: Callable, *, extra_allowed: int = 0, rows: Callable | None = None,
                            using: str = DEFAULT_DB_ALIAS):
    """Fail when the number of queries ``fn()`` runs grows with the data.

    ``fn`` makes the request (or calls the function) under test; ``grow()`` adds more rows of what it
    shows (more records in a list, more related rows on a detail page).  ``fn`` runs once to warm caches
    (sessions, content types), once measured, then ``grow()`` runs and ``fn`` is measured again: the
    second count may exceed the first by at most ``extra_allowed``.  On failure the message lists both
    counts and a diff of the SQL (literals replaced by ``?``), which shows the query that repeats.

    A response with an error status fails the guard (a 403 page has a constant count too), and when
    ``rows(result)`` is given — the number of rows ``fn``'s result shows — it must have grown, so the
    guard measures the data it claims to.  Returns the two query counts.
    """
    connection = connections[using]

    def run():
        with CaptureQueriesContext(connection) as captured:
            result = fn()
        status = getattr(result, "status_code", None)
        assert status is None or status < 400, f"the measured call answered {status}: nothing to measure"
        return result, [q["sql"] for q in captured.captured_queries]

    run()
    first, before = run()
    grow()
    second, after = run()
    if rows is not None:
        assert rows(second) > rows(first), (
            f"grow() added no rows to what fn() shows ({rows(first)} -> {rows(second)}): the guard measures nothing")
    if len(after) > len(before) + extra_allowed:
        diff = "\n".join(difflib.unified_diff([_shape(q) for q in before], [_shape(q) for q in after],
                                              "before grow()", "after grow()", lineterm="", n=1))
        pytest.fail(f"the query count grew with the data: {len(before)} -> {len(after)} queries "
                    f"(at most {len(before) + extra_allowed} allowed)\n{diff}", pytrace=False)
    return len(before), len(after)


# --- the access contract ------------------------------------------------------------------------------------

class _Contract:
    """What every page and endpoint answers: anonymous callers, users whose role lacks the right, the
    allowed user, and the allowed user with a record outside their scope.

    Class attributes (users are names of the ``org`` fixture's users):

    ``url_name``    the URL under test, as ``reverse`` takes it (one contract per name and method)
    ``method``      ``"get"`` unless the page or endpoint only takes another
    ``allowed``     a user who may open it: answered ``ok_status``
    ``denied``      users whose role lacks the right: answered 403 (``()`` for a page every signed-in
                    user may open: their own profile, token, the home page)
    ``scoped_out``  a user with the right but without the record in their scope: a detail answers 404
                    and shows nothing of it, a list answers 200 without it.  ``None`` when what the URL
                    shows is not owner-scoped (settings, the catalogue, the caller's own profile).
    ``list_view``   True when the URL lists records: ``make_record``'s record must be listed for the
                    allowed user and not for ``scoped_out``.
    ``ok_status``   statuses that count as allowed (200; a redirect for a POST that redirects)
    ``headers``     request headers as the test client takes them (``{"HTTP_HX_REQUEST": "true"}`` for
                    an htmx fragment)

    Methods to override: ``make_record(org)`` (the record the URL is about or lists, visible to
    ``allowed``), ``url_kwargs(record)`` / ``query(record)`` (path arguments, query string), ``data(org,
    record)`` (a request body), ``grow(org, record)`` (adds rows for the query-count test; defining it
    turns the test on), ``listed(response, record)`` (whether a list response shows the record).
    """

    url_name: str = ""
    method = "get"
    allowed = "rep"
    denied: tuple = ("no_role",)
    scoped_out: str | None = None
    list_view = False
    ok_status: tuple = (200,)
    headers: dict = {}
    api = False

    # -- hooks ---------------------------------------------------------------------------------------------
    def make_record(self, org):
        return None

    def url_kwargs(self, record):
        """The record's pk when the URL takes one."""
        return {"pk": record.pk} if record is not None and not self.list_view else {}

    def query(self, record):
        return {}

    def data(self, org, record):
        return None

    grow = None  # def grow(self, org, record): add more rows of what the URL shows

    def listed(self, response, record):
        raise NotImplementedError

    def shows_record(self, response, record):
        """Whether a response gives away the record (used on refusals): its name by default."""
        return str(record).encode() in response.content

    # -- plumbing ------------------------------------------------------------------------------------------
    @pytest.fixture
    def record(self, org):
        return self.make_record(org)

    def url(self, record):
        kwargs = self.url_kwargs(record)
        try:
            return reverse(self.url_name, kwargs=kwargs)
        except NoReverseMatch:
            if kwargs.keys() != {"pk"}:
                raise
            return reverse(self.url_name)  # the default pk of a URL that takes none (a record it lists or counts)

    def client_for(self, user):
        client = APIClient()
        if user is not None:
            if self.api:
                client.force_authenticate(user)
            else:
                client.force_login(user)
        return client

    def call(self, org, record, user):
        client = self.client_for(user)
        body = self.data(org, record)
        url = self.url(record)
        if self.method == "get":
            return client.get(url, self.query(record), **self.headers)
        if self.query(record):
            url = f"{url}?{'&'.join(f'{k}={v}' for k, v in self.query(record).items())}"
        kwargs = {"format": "json"} if self.api else {}
        kwargs.update(self.headers)
        return getattr(client, self.method)(url, body if body is not None else {}, **kwargs)

    def where(self, response, who):
        return f"{self.method.upper()} {self.url_name} as {who}: {response.status_code}"

    # -- the contract --------------------------------------------------------------------------------------
    def test_anonymous(self, org, record):
        response = self.call(org, record, None)
        self.assert_anonymous(response)

    def test_denied(self, org, record):
        if not self.denied:
            pytest.skip(f"{self.url_name} is open to every signed-in user")
        for name in self.denied:
            response = self.call(org, record, getattr(org, name))
            assert response.status_code == 403, self.where(response, name)
            if record is not None:
                assert not self.shows_record(response, record), self.where(response, name)

    def test_allowed(self, org, record):
        response = self.call(org, record, getattr(org, self.allowed))
        assert response.status_code in self.ok_status, self.where(response, self.allowed)
        if self.list_view and record is not None:
            assert self.listed(response, record), f"{self.where(response, self.allowed)}: record not listed"

    def test_allowed_but_scoped(self, org, record):
        if self.scoped_out is None:
            pytest.skip(f"{self.url_name} shows nothing owner-scoped")
        assert record is not None, "a scoped contract needs make_record()"
        response = self.call(org, record, getattr(org, self.scoped_out))
        where = self.where(response, self.scoped_out)
        if self.list_view:
            assert response.status_code == 200, where
            assert not self.listed(response, record), f"{where}: lists a record outside the scope"
        else:
            assert response.status_code == 404, where
            assert not self.shows_record(response, record), f"{where}: shows the record"

    def test_query_count_is_constant(self, org, record):
        if self.grow is None:
            pytest.skip(f"no query-count guard declared for {self.url_name}")
        user = getattr(org, self.allowed)
        assert_queries_constant(lambda: self.call(org, record, user), lambda: self.grow(org, record),
                                rows=self.count_rows if self.list_view else None)


class PageContract(_Contract):
    """A server-rendered page: anonymous callers are sent to the log-in page, a denied user gets the 403
    page.  ``row_attr`` names the ``data-…-id`` attribute a list page puts on each row."""

    row_attr = ""

    def assert_anonymous(self, response):
        assert response.status_code == 302, self.where(response, "anonymous")
        assert response["Location"].startswith(reverse("login")), response["Location"]

    def listed(self, response, record):
        assert self.row_attr, "set row_attr (e.g. 'data-customer-id') on a list page's contract"
        return f'{self.row_attr}="{record.pk}"'.encode() in response.content

    def count_rows(self, response):
        return response.content.count(f'{self.row_attr}="'.encode())


class EndpointContract(_Contract):
    """An API endpoint: anonymous callers get 401 (never data); a list answers rows with an ``id``
    (in ``results`` when paginated)."""

    api = True

    def assert_anonymous(self, response):
        assert response.status_code == 401, self.where(response, "anonymous")  # "sign in" (a token), not 403

    @staticmethod
    def rows(response):
        return response.data["results"] if isinstance(response.data, dict) else response.data  # paginated or not

    def listed(self, response, record):
        return record.pk in {row["id"] for row in self.rows(response)}

    def count_rows(self, response):
        return len(self.rows(response))


def contract_classes():
    """Every contract subclass defined so far (import the test modules first)."""
    found, todo = [], [PageContract, EndpointContract]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [c for c in found if c.url_name]
