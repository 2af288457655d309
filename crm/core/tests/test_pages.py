"""The generic page layer: tables (columns, contributions, headers, export cells) and the form-error
helper.  The list, edit and delete pages are exercised through the apps' page tests."""

from django import forms
from django.core.exceptions import ValidationError

from crm.core.pages import apply_validation_error
from crm.core.tables import Column, Table, contribute, spreadsheet_safe


class Row:
    def __init__(self, name, size=None):
        self.name = name
        self.size = size

    def get_name_display(self):
        return self.name.upper()


def test_columns_read_values_by_accessor_or_function_and_split_list_from_export():
    table = Table("tests.row", [
        Column("name", "Name", order_by="name"),
        Column("shout", "Shout", accessor="get_name_display", in_list=False),
        Column("size", "Size", value=lambda r: r.size * 2, export_value=lambda r: f"{r.size} m", in_export=False),
    ])
    row = Row("abc", 3)
    assert [c.name for c in table.list_columns()] == ["name", "size"]
    assert table.export_header() == ["Name", "Shout"]
    assert table.export_row(row) == ["abc", "ABC"]
    assert table.list_columns()[1].value(row) == 6 and table.list_columns()[1].export(row) == "3 m"
    assert table.ordering_fields() == ("name",)


def test_other_apps_contribute_columns_once_after_the_tables_own():
    table = Table("tests.contributed", [Column("name", "Name")])
    contribute("tests.contributed", [Column("score", "Score", order_by="score")])
    contribute("tests.contributed", [Column("score", "Score", order_by="score")])
    assert [c.name for c in table.columns] == ["name", "score"]
    headers = table.headers("-score")
    assert headers[1]["active"] and headers[1]["descending"] and headers[1]["toggle"] == "score"
    assert not headers[0]["sortable"] and headers[0]["toggle"] is None


def test_export_cells_are_spreadsheet_safe():
    assert spreadsheet_safe("=SUM(A1)") == "'=SUM(A1)" and spreadsheet_safe(None) == "" and spreadsheet_safe(7) == "7"


class _Form(forms.Form):
    name = forms.CharField(required=False)
    cf_size = forms.CharField(required=False)

    def field_for_error(self, key):
        return f"cf_{key}"


def test_a_service_error_lands_on_its_input_its_alias_or_above_the_form():
    form = _Form({})
    assert form.is_valid()
    apply_validation_error(form, ValidationError({"name": "Bad name.", "size": "Too big.", "other": "Hm.",
                                                  "__all__": "Whole record."}))
    assert form.errors["name"] == ["Bad name."] and form.errors["cf_size"] == ["Too big."]
    assert form.non_field_errors() == ["Hm.", "Whole record."]
    form = _Form({})
    form.is_valid()
    apply_validation_error(form, ValidationError("Plain."))
    assert form.non_field_errors() == ["Plain."]


def test_a_row_renders_every_list_cell_from_one_compiled_template():
    table = Table("tests.cells", [
        Column("name", "Name", template="{% load i18n %}<td>{{ row.name }}</td>"),
        Column("hidden", "Hidden", in_list=False, template="<td>never</td>"),
        Column("size", "Size", template='<td class="num">{{ row.size|default:"—" }}</td>'),
    ])
    contribute("tests.cells", [Column("extra", "Extra", template="<td>{{ row.name|upper }}</td>")])
    cells = table.row_cells()
    assert cells is table.row_cells()  # compiled once for the same columns
    html = cells.render({"row": Row("abc")})
    assert html == '<td>abc</td><td class="num">—</td><td>ABC</td>'


def test_a_page_can_leave_columns_out_of_both_the_headers_and_the_rows():
    table = Table("tests.hidden", [
        Column("name", "Name", template="<td>{{ row.name }}</td>"),
        Column("owner", "Owner", template="<td>owner</td>"),
        Column("actions", "Actions", label_hidden=True, template="<td>act</td>"),
    ])
    headers = table.headers("", hidden={"owner"})
    assert [h["name"] for h in headers] == ["name", "actions"] and headers[1]["label_hidden"]
    assert table.row_cells(hidden={"owner"}).render({"row": Row("abc")}) == "<td>abc</td><td>act</td>"
    assert table.row_cells().render({"row": Row("abc")}) == "<td>abc</td><td>owner</td><td>act</td>"
