"""Forms of the sales pages.  They collect input and keep what was typed; the services validate and save.

Amounts are taken as text so that the service's own message ("Use at most 2 decimal places.") is the
one the user sees, whichever way an order arrives.
"""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.accounts.queries import assignable_users

from .choices import OrderStatus, SalesChannel, StockMovementKind
from .models import Product
from .queries import categories, partners

PROMOTION_CHOICES = [("", _("automatic: when a line has a discount")), ("true", _("Yes")), ("false", _("No"))]


def _amount_input(placeholder="", **attrs):
    return forms.TextInput(attrs={"inputmode": "decimal", "placeholder": placeholder, "autocomplete": "off", **attrs})


class ProductForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.ModelChoiceField(label=_("Category"), queryset=categories().none(), required=False)
    unit = forms.CharField(label=_("Unit"), max_length=20, initial="个")
    list_price = forms.CharField(label=_("List price"), widget=_amount_input("0.00"))
    standard_cost = forms.CharField(label=_("Standard cost"), widget=_amount_input("0.00"))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    external_ref = forms.CharField(label=_("External reference"), max_length=100, required=False)

    def __init__(self, *args, instance: Product | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {
                "code": instance.code, "name": instance.name, "category": instance.category_id,
                "unit": instance.unit, "list_price": instance.list_price, "standard_cost": instance.standard_cost,
                "active": instance.active, "external_ref": instance.external_ref or "",
            }
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories().order_by("code")

    def service_data(self):
        return dict(self.cleaned_data)


class StockMovementForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=StockMovementKind.choices, initial=StockMovementKind.RECEIPT)
    quantity = forms.CharField(label=_("Quantity"), widget=_amount_input(
        "0", **{"data-testid": "stock-quantity"}),
        help_text=_("Shipments: the quantity shipped. Adjustments: negative to reduce stock."))
    occurred_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    unit_cost = forms.CharField(label=_("Unit cost"), required=False, widget=_amount_input("0.00"))
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"occurred_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class OrderForm(forms.Form):
    order_date = forms.DateField(label=_("Order date"),
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    status = forms.ChoiceField(label=_("Status"), choices=OrderStatus.choices, initial=OrderStatus.CONFIRMED)
    channel = forms.ChoiceField(label=_("Sales channel"), choices=SalesChannel.choices, initial=SalesChannel.DIRECT)
    partner = forms.ModelChoiceField(label=_("Channel partner"), queryset=partners().none(), required=False,
                                     help_text=_("Dealer orders only."))
    seller = forms.ModelChoiceField(label=_("Sold by"), queryset=User.objects.none(), required=False)
    number = forms.CharField(label=_("Order number"), max_length=40, required=False,
                             help_text=_("Leave empty to number it automatically."))
    is_promotion = forms.ChoiceField(label=_("Promotion or discount applied"), choices=PROMOTION_CHOICES,
                                     required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, instance=None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {
                "order_date": instance.order_date, "status": instance.status, "channel": instance.channel,
                "partner": instance.partner_id, "seller": instance.seller_id, "number": instance.number,
                "is_promotion": "true" if instance.is_promotion else "false", "notes": instance.notes,
            }
        else:
            kwargs.setdefault("initial", {"order_date": timezone.localdate(), "seller": user.pk})
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners(active_only=True).order_by("name") | partners().filter(
            pk=getattr(instance, "partner_id", None))
        sellers = assignable_users(user)
        if instance is not None and instance.seller_id:
            sellers = sellers | User.objects.filter(pk=instance.seller_id)
        self.fields["seller"].queryset = sellers.distinct().order_by("full_name", "username")
        if instance is not None:
            # The status moves through the status action (with a reason to cancel or return).
            del self.fields["status"]

    def service_data(self):
        data = dict(self.cleaned_data)
        promotion = data.pop("is_promotion", "")
        data["is_promotion"] = {"true": True, "false": False}.get(promotion)
        data["partner"] = data["partner"].pk if data.get("partner") else None
        data["seller"] = data["seller"].pk if data.get("seller") else None
        return data


def product_choices(include=()):
    """(value, label) of every active product (and of ``include``, the products already on the order):
    built once per page, shared by every line row."""
    rows = (Product.objects.filter(Q(active=True) | Q(pk__in=list(include))).order_by("code")
            .values_list("pk", "code", "name", "list_price"))
    return [("", "—")] + [(str(pk), f"{code} {name} · {price}") for pk, code, name, price in rows]


class OrderLineForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"), required=False)
    product_code = forms.CharField(
        label=_("or code"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("or type a product code"),
                                      "aria-label": _("Product code")}))
    quantity = forms.CharField(label=_("Quantity"), required=False, widget=_amount_input("1"))
    unit_price = forms.CharField(label=_("Unit price"), required=False,
                                 widget=_amount_input(_("list price")),
                                 help_text=_("Empty: the product's list price."))
    discount_rate = forms.CharField(label=_("Discount %"), required=False, widget=_amount_input("0"))
    # An edited line keeps the unit cost it was recorded with, as long as its product stays the same.
    unit_cost = forms.CharField(required=False, widget=forms.HiddenInput)
    cost_for = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = products
        attrs = {"product": "line-product", "product_code": "line-code", "quantity": "line-quantity",
                 "unit_price": "line-price", "discount_rate": "line-discount"}
        for name, testid in attrs.items():
            self.fields[name].widget.attrs["data-testid"] = testid

    def has_changed(self):
        """A row counts when anything but the discount was typed; an untouched row is skipped."""
        if not self.is_bound:
            return False
        return any((self.data.get(self.add_prefix(name)) or "").strip()
                   for name in ("product", "product_code", "quantity", "unit_price"))

    def line(self):
        data = self.cleaned_data
        line = {"quantity": data.get("quantity"), "unit_price": data.get("unit_price") or None,
                "discount_rate": data.get("discount_rate") or None}
        if data.get("product"):
            line["product"] = int(data["product"])
        else:
            line["product_code"] = (data.get("product_code") or "").strip() or None
        if data.get("unit_cost") and data.get("cost_for") and data["cost_for"] == data.get("product"):
            line["unit_cost"] = data["unit_cost"]
        return line


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, products=(), **kwargs):
        self.products = products
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "products": self.products}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
                         use_required_attribute=False, products=self.products, renderer=self.renderer)
        self.add_fields(form, None)
        return form

    def lines(self):
        """The rows that hold a line, with their form (to put the service's line errors back on)."""
        return [form for form in self.forms if form.has_changed()]


LINES_PREFIX = "lines"


def line_formset(data=None, *, products, initial=None, extra=0):
    formset_class = forms.formset_factory(OrderLineForm, formset=BaseLineFormSet, extra=extra, max_num=1000,
                                          absolute_max=1000)
    return formset_class(data, prefix=LINES_PREFIX, products=products, initial=initial)


def line_row(index, *, products):
    """One empty line row for the htmx "add line" button."""
    return OrderLineForm(prefix=f"{LINES_PREFIX}-{index}", products=products, empty_permitted=True,
                         use_required_attribute=False)


class OrderStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=())
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False,
                             help_text=_("Needed to cancel or return an order."))

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = choices
