"""Serializers of interactions, to-dos and the timeline.  They check formats; the services own the rules."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.accounts.models import User
from crm.core.api import AwareDateTimeField, DateField, VisibleNameField
from crm.customers.models import Contact, Customer
from crm.customers.queries import customers_for

from ..models import Interaction, TimelineEvent, Todo
from ..services import INTERACTION_FIELDS


class _ScopedSerializer(serializers.ModelSerializer):
    """Related customers and contacts are looked up in the caller's scope: anything else 'does not exist'."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            if "customer" in self.fields:
                self.fields["customer"].queryset = customers_for(request.user)
            if "contact" in self.fields:
                self.fields["contact"].queryset = Contact.objects.visible_to(request.user)

    def validate_customer(self, value):
        if self.instance is not None and value is not None and value.pk != self.instance.customer_id:
            raise serializers.ValidationError(_("A record cannot be moved to another customer."))
        return value


class InteractionSerializer(_ScopedSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none(),
                                                  help_text="Customer id; fixed once the interaction exists.")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.none(), required=False, allow_null=True,
        help_text="Contact id; must be one of the customer's contacts.")
    contact_name = serializers.CharField(source="contact.name", read_only=True, allow_null=True)
    user_name = serializers.CharField(source="user.display_name", read_only=True, allow_null=True)
    occurred_at = AwareDateTimeField(
        required=False, help_text="When it happened; defaults to now.  Not more than a few minutes ahead.")
    summary = serializers.CharField(allow_blank=True, help_text="What it was about (required).")
    follow_up_on = DateField(
        required=False, allow_null=True,
        help_text="Creates a follow-up to-do for the customer's owner (or the caller) due that day.")

    class Meta:
        model = Interaction
        fields = ["id", "customer", "customer_name", *INTERACTION_FIELDS, "contact_name", "user", "user_name",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "user", "created_at", "updated_at"]

    def service_data(self):
        return {k: v for k, v in self.validated_data.items() if k in INTERACTION_FIELDS}


class TodoSerializer(_ScopedSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False,
        help_text="Assignee (user id); defaults to the caller.  Another user must be within the caller's scope.")
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none(), required=False, allow_null=True)
    customer_name = VisibleNameField("customer", help_text=(
        "null without a customer, or when the customer is outside the caller's scope (a to-do follows its "
        "owner, the customer its own owner)."))
    title = serializers.CharField(max_length=200)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Todo
        fields = ["id", "owner", "owner_name", "customer", "customer_name", "interaction", "kind", "title", "due_on",
                  "done_at", "is_open", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "interaction", "done_at", "created_by", "created_at", "updated_at"]

    def service_data(self):
        return {k: v for k, v in self.validated_data.items() if k in ("kind", "title", "due_on", "customer")}


class ReassignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True),
                                               help_text="The new assignee (user id).")


class TimelineEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True, allow_null=True)
    source_type = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEvent
        fields = ["id", "customer", "at", "kind", "title", "detail", "actor", "actor_name", "source_type",
                  "source_id", "data"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_source_type(self, obj):
        """``app_label.model`` of the record that caused the event (e.g. ``activities.interaction``)."""
        if obj.source_type_id is None:
            return None
        from django.contrib.contenttypes.models import ContentType

        ct = ContentType.objects.get_for_id(obj.source_type_id)  # cached: no query per row
        return f"{ct.app_label}.{ct.model}"
