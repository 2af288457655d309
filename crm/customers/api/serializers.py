"""Serializers of the customer archive.  They check formats; the services own every business rule."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.accounts.models import OrgUnit, User
from crm.accounts.queries import assignable_units, assignable_users
from crm.core.api import CustomFieldsField, as_drf_validation_error
from crm.core.custom_fields import clean_custom_fields

from ..models import Contact, Customer, OwnershipChange, PoolRule, Tag
from ..queries import customers_for
from ..services import CONTACT_FIELDS, CUSTOMER_FIELDS

# Raw phone input ("+86 138-1234-5678", "0755 8888 6666") is longer than its stored E.164 form.
RAW_PHONE_MAX_LENGTH = 40


def _validated_custom_fields(model, value, instance=None):
    """Validate through the same function the service uses, so errors nest under ``custom_fields``."""
    try:
        clean_custom_fields(model, value, existing=instance.custom_fields if instance else None)
    except DjangoValidationError as exc:
        raise as_drf_validation_error(exc) from exc
    return value


class CustomerSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(
        max_length=RAW_PHONE_MAX_LENGTH, required=False, allow_blank=True,
        help_text="Mobile or landline in any usual format; stored in E.164 (+8613812345678).",
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True,
        help_text="User id.  Defaults to the caller; another user needs the *assign* action.",
    )
    branch = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True,
        help_text="Org unit id.  Defaults to the owner's unit; another unit needs the *assign* action.",
    )
    owner_name = serializers.CharField(source="owner.display_name", read_only=True, allow_null=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(
        slug_field="name", many=True, required=False, queryset=Tag.objects.all(),
        help_text="Tag names (tags are created under /customers/ settings, not here).",
    )
    custom_fields = CustomFieldsField()
    allow_duplicate = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="Create even when a customer with the same name, phone or email exists. "
                  "Without it such a create answers 400 with `possible_duplicates`. Ignored on update.",
    )

    class Meta:
        model = Customer
        fields = [
            "id", *CUSTOMER_FIELDS, "name_pinyin", "name_initials", "owner", "owner_name", "branch",
            "branch_name", "tags", "custom_fields", "created_by", "created_at", "updated_at", "allow_duplicate",
        ]
        read_only_fields = ["id", "name_pinyin", "name_initials", "created_by", "created_at", "updated_at"]

    def validate_custom_fields(self, value):
        return _validated_custom_fields(Customer, value, self.instance)

    def service_kwargs(self):
        """Split validated data into what the customer services take."""
        data = dict(self.validated_data)
        kwargs = {
            "data": {k: v for k, v in data.items() if k in CUSTOMER_FIELDS},
            "tags": data.get("tags"),
            "custom_fields": data.get("custom_fields"),
        }
        return kwargs, data


class ContactSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none(),
                                                  help_text="Customer id; fixed once the contact exists.")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    mobile = serializers.CharField(max_length=RAW_PHONE_MAX_LENGTH, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=RAW_PHONE_MAX_LENGTH, required=False, allow_blank=True)
    custom_fields = CustomFieldsField()

    class Meta:
        model = Contact
        fields = ["id", "customer", "customer_name", *CONTACT_FIELDS, "custom_fields", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only customers the caller can see: anything else is "does not exist", nothing written.
            self.fields["customer"].queryset = customers_for(request.user)

    def validate_customer(self, value):
        if self.instance is not None and value.pk != self.instance.customer_id:
            raise serializers.ValidationError(_("A contact cannot be moved to another customer."))
        return value

    def validate_custom_fields(self, value):
        return _validated_custom_fields(Contact, value, self.instance)

    def service_kwargs(self):
        data = dict(self.validated_data)
        return {
            "data": {k: v for k, v in data.items() if k in CONTACT_FIELDS},
            "custom_fields": data.get("custom_fields"),
        }


class AssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True,
        help_text="New owner (user id), or null to release the customer to the pool.",
    )
    branch = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True,
        help_text="New org unit; defaults to the new owner's unit.",
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


NULLABLE_NAME = {"type": "string", "nullable": True}


class OwnershipChangeSerializer(serializers.ModelSerializer):
    from_owner_name = serializers.SerializerMethodField()
    to_owner_name = serializers.SerializerMethodField()
    from_branch_name = serializers.SerializerMethodField()
    to_branch_name = serializers.SerializerMethodField()
    changed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = OwnershipChange
        fields = [
            "id", "at", "from_owner", "from_owner_name", "to_owner", "to_owner_name", "from_branch",
            "from_branch_name", "to_branch", "to_branch_name", "changed_by", "changed_by_name", "reason",
        ]
        read_only_fields = fields

    @staticmethod
    def _name(obj):
        return str(obj) if obj is not None else None

    @extend_schema_field(NULLABLE_NAME)
    def get_from_owner_name(self, obj):
        return self._name(obj.from_owner)

    @extend_schema_field(NULLABLE_NAME)
    def get_to_owner_name(self, obj):
        return self._name(obj.to_owner)

    @extend_schema_field(NULLABLE_NAME)
    def get_from_branch_name(self, obj):
        return self._name(obj.from_branch)

    @extend_schema_field(NULLABLE_NAME)
    def get_to_branch_name(self, obj):
        return self._name(obj.to_branch)

    @extend_schema_field(NULLABLE_NAME)
    def get_changed_by_name(self, obj):
        return self._name(obj.changed_by)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]


# --- customer pool and hand-over -----------------------------------------------------------------------

class PoolCustomerSerializer(serializers.ModelSerializer):
    """A customer in the pool: what a sales person needs to decide whether to claim it."""

    branch_name = serializers.CharField(source="branch.name", read_only=True, allow_null=True)
    released_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                            help_text="When the customer last returned to the pool.")
    release_reason = serializers.CharField(read_only=True, allow_null=True,
                                           help_text="Why it returned (the owner's reason, or the pool rule).")

    class Meta:
        model = Customer
        fields = ["id", "name", "province", "city", "industry", "customer_type", "branch",
                  "branch_name", "last_activity_at", "released_at", "release_reason", "updated_at"]
        read_only_fields = fields


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text="Why the customer goes back to the pool (required).")


class PoolRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = PoolRule
        fields = ["id", "customer_type", "days_without_activity", "warn_days_before", "active", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # the service validates the rule (one per customer type) and answers 400


class HandoverSerializer(serializers.Serializer):
    from_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), help_text="Whose customers, open to-dos and follow-ups move (user id).")
    to_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), required=False, allow_null=True,
        help_text="Give everything to this user; or send `to_unit` instead.")
    to_unit = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.none(), required=False, allow_null=True,
        help_text="Spread evenly across the active members of this unit (fewest customers first).")
    reason = serializers.CharField(max_length=255)

    def __init__(self, *args, **kwargs):
        from ..queries import handover_candidates

        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Users and units outside the caller's access are unknown ids, exactly like missing ones.
            self.fields["from_user"].queryset = handover_candidates(request.user)
            self.fields["to_user"].queryset = assignable_users(request.user)
            self.fields["to_unit"].queryset = assignable_units(request.user)


class HandoverRecipientSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    user_name = serializers.CharField()
    customers = serializers.IntegerField()
    todos = serializers.IntegerField()


class HandoverResultSerializer(serializers.Serializer):
    customers = serializers.IntegerField(help_text="How many customers moved.")
    todos = serializers.IntegerField(help_text="How many open to-dos and follow-ups moved.")
    recipients = HandoverRecipientSerializer(many=True)
