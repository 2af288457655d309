"""Keyset (cursor) pagination, shared by the API and the htmx list pages.

A page costs the same at row 20 as at row 900,000: the cursor carries the last position, never an
OFFSET over the whole table.  The total is counted up to ``CRM_LIST_COUNT_CAP`` so counting stays
cheap on a million rows; beyond it the page says "more than N".
"""

from django.conf import settings
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


def capped_count(queryset, cap=None):
    cap = cap or settings.CRM_LIST_COUNT_CAP
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


class KeysetPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        self.count, self.count_capped = capped_count(queryset)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return Response({
            "count": self.count,
            "count_is_capped": self.count_capped,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"] = {"type": "integer", "example": 123}
        response["properties"]["count_is_capped"] = {"type": "boolean"}
        return response
