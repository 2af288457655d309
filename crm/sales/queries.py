"""Read side of the sales app.  Orders are read through ``Order.objects.visible_to(user)``: whoever
may see a customer sees its orders.  Revenue figures always come from ``Order.objects.revenue()``:
drafts, cancelled and returned orders never count."""

from django.db.models import Count, Max, Prefetch, Sum

from .models import ChannelPartner, Order, OrderLine, Product, ProductCategory, StockMovement

RECENT_ORDERS = 5


def orders_for(user):
    """The orders ``user`` may see, with what a list row shows loaded in the same query."""
    return Order.objects.visible_to(user).select_related("customer", "seller", "partner")


def order_for_detail(user, pk):
    """One visible order with its lines and their products, in a fixed number of queries."""
    return (
        orders_for(user)
        .select_related("created_by")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")
                                   .order_by("position", "id")))
        .get(pk=pk)
    )


def order_summary(customer, *, recent=RECENT_ORDERS) -> dict:
    """A customer's purchase summary over revenue orders, and their latest orders (any status).

    ``{count, revenue, gross_margin, margin_rate, last_order_date, recent_orders}``: ``margin_rate`` is
    gross margin / revenue (None without revenue).  The caller has already checked that the user may
    see ``customer``; its orders follow it."""
    figures = Order.objects.filter(customer=customer).revenue().aggregate(
        count=Count("id"), revenue=Sum("total_amount"), gross_margin=Sum("gross_margin"),
        last_order_date=Max("order_date"),
    )
    revenue = figures["revenue"] or 0
    margin = figures["gross_margin"] or 0
    return {
        "count": figures["count"],
        "revenue": revenue,
        "gross_margin": margin,
        "margin_rate": (margin / revenue) if revenue else None,
        "last_order_date": figures["last_order_date"],
        "recent_orders": list(Order.objects.filter(customer=customer).select_related("seller")
                              .order_by("-order_date", "-id")[:recent]),
    }


def revenue_orders_for(user):
    """The visible orders that count as revenue (for reports and analyses)."""
    return Order.objects.visible_to(user).revenue()


def products():
    return Product.objects.select_related("category")


def active_products():
    return products().filter(active=True)


def product_for_detail(pk):
    return products().get(pk=pk)


def stock_movements(product, limit=None):
    qs = StockMovement.objects.filter(product=product).select_related("created_by").order_by("-occurred_on", "-id")
    return qs[:limit] if limit else qs


def categories():
    return ProductCategory.objects.select_related("parent")


def partners(active_only=False):
    qs = ChannelPartner.objects.all()
    return qs.filter(active=True) if active_only else qs
