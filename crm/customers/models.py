"""The customer archive: one record per customer shared by sales, service and marketing (R1)."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import ChangeLoggedModel, CustomFieldsModel, ExternalRefModel
from crm.core.text import pinyin_keys
from crm.core.validators import NOTES_MAX_LENGTH, SHORT_TEXT_MAX_LENGTH, validate_date_range
from crm.core.visibility import RestrictedModel, RestrictedQuerySet

from .choices import (
    CustomerKind,
    CustomerStatus,
    CustomerType,
    Industry,
    Province,
    PurchaseRole,
    RelationshipLevel,
    Source,
)


class Tag(ChangeLoggedModel):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(RestrictedModel, ChangeLoggedModel, CustomFieldsModel, ExternalRefModel):
    kind = models.CharField(_("kind"), max_length=12, choices=CustomerKind.choices,
                            default=CustomerKind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    # Derived search keys (kept in step by save()): full pinyin and pinyin initials of the name.
    name_pinyin = models.CharField(max_length=400, editable=False, default="")
    name_initials = models.CharField(max_length=200, editable=False, default="")
    phone = models.CharField(_("phone"), max_length=20, blank=True,
                             help_text=_("Mobile or landline; stored in international format."))
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    province = models.CharField(_("province"), max_length=20, choices=Province.choices, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("street address"), max_length=255, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices,
                              default=CustomerStatus.PROSPECT)
    customer_type = models.CharField(_("customer type"), max_length=12, choices=CustomerType.choices,
                                     default=CustomerType.UNKNOWN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="owned_customers")
    branch = models.ForeignKey("accounts.OrgUnit", verbose_name=_("branch / team"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="customers")
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    notes = models.TextField(_("notes"), blank=True, max_length=NOTES_MAX_LENGTH,
                             validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    estimated_annual_need = models.DecimalField(
        _("estimated annual need"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("What the customer buys per year from all suppliers; gives the share of wallet."))
    relationship_level = models.CharField(_("relationship level practised"), max_length=12,
                                          choices=RelationshipLevel.choices, blank=True, default="", db_default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+", editable=False)
    # Kept in step by the order and interaction services; drives the customer pool (R1.3).
    last_activity_at = models.DateTimeField(_("last order or interaction"), null=True, blank=True, editable=False)
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True, editable=False)
    pool_warned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RestrictedQuerySet.as_manager()

    audit_exclude = ("created_at", "updated_at", "name_pinyin", "name_initials", "last_activity_at",
                     "pool_warned_at")

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Keyset pagination: every sortable column is indexed together with id.
            models.Index(fields=["-created_at", "-id"], name="cust_created_idx"),
            models.Index(fields=["name", "id"], name="cust_name_idx"),
            models.Index(fields=["-updated_at", "-id"], name="cust_updated_idx"),
            models.Index(fields=["owner", "-created_at"], name="cust_owner_idx"),
            models.Index(fields=["branch", "-created_at"], name="cust_branch_idx"),
            models.Index(fields=["province", "city"], name="cust_region_idx"),
            models.Index(fields=["status", "-created_at"], name="cust_status_idx"),
            models.Index(fields=["branch", "status", "-created_at"], name="cust_branch_status_idx"),
            models.Index(fields=["customer_type", "-created_at"], name="cust_type_idx"),
            models.Index(fields=["phone"], name="cust_phone_idx"),
            models.Index(fields=["email"], name="cust_email_idx"),
            models.Index(fields=["name_initials"], name="cust_initials_idx"),
            models.Index(fields=["name_pinyin"], name="cust_pinyin_idx"),
            models.Index(fields=["owner", "last_activity_at"], name="cust_owner_activity_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_ref"], name="customer_unique_external_ref",
                                    condition=models.Q(external_ref__isnull=False)),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name_pinyin, self.name_initials = pinyin_keys(self.name)
        self.email = (self.email or "").strip().lower()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = set(update_fields) | {"name_pinyin", "name_initials"}
        super().save(*args, **kwargs)

    @property
    def full_address(self):
        return "".join(p for p in [self.province, self.city, self.district, self.address] if p)


class Contact(RestrictedModel, ChangeLoggedModel, CustomFieldsModel, ExternalRefModel):
    """A person at a customer (R1.1): their role in the purchase, facts and preferences."""

    owner_path = "customer__owner"
    unit_path = "customer__branch"

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    purchase_role = models.CharField(_("role in the purchase"), max_length=20,
                                     choices=PurchaseRole.choices, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    phone = models.CharField(_("office phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True, validators=[validate_date_range])
    preferences = models.TextField(_("preferences"), blank=True, max_length=SHORT_TEXT_MAX_LENGTH,
                                   validators=[MaxLengthValidator(SHORT_TEXT_MAX_LENGTH)],
                                   help_text=_("What they like: contact channel, times, topics, gifts."))
    important_facts = models.TextField(_("important facts"), blank=True, max_length=SHORT_TEXT_MAX_LENGTH,
                                       validators=[MaxLengthValidator(SHORT_TEXT_MAX_LENGTH)])
    is_primary = models.BooleanField(_("primary contact"), default=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name", "id"]
        indexes = [
            models.Index(fields=["mobile"], name="contact_mobile_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(is_primary=True),
                                    name="contact_one_primary_per_customer"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class PoolRule(ChangeLoggedModel):
    """When an owned customer returns to the pool (公海): after ``days_without_activity`` days with
    no order or interaction, with a warning to the owner ``warn_days_before`` days earlier.  A rule for
    a customer type overrides the rule for all types."""

    customer_type = models.CharField(_("customer type"), max_length=12, choices=CustomerType.choices,
                                     blank=True, help_text=_("Empty: applies to every type without its own rule."))
    days_without_activity = models.PositiveIntegerField(_("days without order or interaction"))
    warn_days_before = models.PositiveIntegerField(_("warn the owner this many days before"), default=7)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pool rule")
        verbose_name_plural = _("pool rules")
        ordering = ["customer_type"]
        constraints = [models.UniqueConstraint(fields=["customer_type"], name="pool_rule_unique_type")]

    def __str__(self):
        return f"{self.get_customer_type_display() or '*'}: {self.days_without_activity}"


class OwnershipChange(models.Model):
    """Every change of a customer's owner or branch: who, when, why (R1.3)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ownership_changes")
    from_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    to_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    from_branch = models.ForeignKey("accounts.OrgUnit", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    to_branch = models.ForeignKey("accounts.OrgUnit", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="ownership_customer_idx")]

    def __str__(self):
        return f"{self.customer_id}: {self.from_owner_id} → {self.to_owner_id}"
