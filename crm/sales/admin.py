"""Django admin for the sales app.  Catalogue records are edited here like anywhere else; orders and
stock movements are shown read-only, because their totals and stock balances are kept by the services."""

from django.contrib import admin

from .models import ChannelPartner, Order, OrderLine, Product, ProductCategory, StockMovement


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent"]
    list_select_related = ["parent"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "unit", "list_price", "standard_cost", "stock_on_hand", "active"]
    list_filter = ["active", "category"]
    list_select_related = ["category"]
    search_fields = ["code", "name", "external_ref"]
    readonly_fields = ["stock_on_hand", "created_at", "updated_at"]
    show_full_result_count = False


@admin.register(ChannelPartner)
class ChannelPartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "contact_name", "phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "region", "external_ref"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["occurred_on", "product", "kind", "quantity", "unit_cost", "reference", "created_by"]
    list_filter = ["kind"]
    list_select_related = ["product", "created_by"]
    search_fields = ["product__code", "reference"]
    date_hierarchy = "occurred_on"
    show_full_result_count = False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["position", "product", "quantity", "unit_price", "discount_rate", "unit_cost", "amount", "cost",
              "margin"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "order_date", "customer", "status", "channel", "seller", "total_amount",
                    "gross_margin", "external_ref"]
    list_filter = ["status", "channel", "is_promotion"]
    list_select_related = ["customer", "seller"]
    search_fields = ["number", "external_ref", "customer__name"]
    date_hierarchy = "order_date"
    inlines = [OrderLineInline]
    show_full_result_count = False
    list_per_page = 50
