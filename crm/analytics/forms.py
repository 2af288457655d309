"""Forms of the analytics settings pages: the analysis settings, and the RFM segment table edited as an
R×F grid (one segment per cell) with the relationship level practised with each segment."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import RelationshipLevel

from .choices import segment_label
from .models import AnalyticsSettings, Segment
from .stats.rfm import DEFAULT_SEGMENTS, SCORES, validate_segment_table

SETTINGS_GROUPS = (
    (_("Data"), ("lookback_days", "period", "keep_snapshots")),
    (_("Value tiers"), ("high_value_share", "general_share")),
    (_("Lifetime value and churn"), ("clv_horizon_months", "annual_discount_rate", "clv_basis", "churn_threshold",
                                     "holdout_months")),
    (_("Cost to serve"), ("cost_per_interaction", "cost_per_case", "cost_per_campaign_message")),
    (_("Value-chain classes"), ("transaction_promo_share", "transaction_max_repeats", "quasi_wallet_share",
                                "low_yield_cost_ratio")),
)


class AnalyticsSettingsForm(forms.ModelForm):
    class Meta:
        model = AnalyticsSettings
        fields = [name for _group, names in SETTINGS_GROUPS for name in names]

    def clean(self):
        data = super().clean()
        high, general = data.get("high_value_share"), data.get("general_share")
        if high is not None and general is not None and not 0 < high <= general <= 1:
            self.add_error("general_share", _("The general share must be at least the high-value share, and the "
                                              "high-value share above 0."))
        return data

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in SETTINGS_GROUPS]


def cell_name(r, f):
    return f"cell_{r}_{f}"


def current_segments():
    """The segment rows, or unsaved rows built from the default table when none exist yet."""
    segments = list(Segment.objects.order_by("position", "id"))
    if segments:
        return segments
    return [Segment(key=key, label=label, position=i, cells=[list(c) for c in cells])
            for i, (key, label, cells) in enumerate(DEFAULT_SEGMENTS)]


class SegmentTableForm(forms.Form):
    """The 25 cells of the R×F grid, each assigned to one segment, and the practised level per segment.

    The resulting table is checked with :func:`validate_segment_table`: a cell left without a segment
    (a gap) or submitted for two segments (an overlap) is refused, and nothing is saved."""

    def __init__(self, *args, segments, **kwargs):
        super().__init__(*args, **kwargs)
        self.segments = segments
        choices = [("", "—")] + [(s.key, segment_label(s.key, s.label)) for s in segments]
        owner = {}
        for segment in segments:
            for r, f in segment.cells or []:
                owner[(r, f)] = segment.key
        for r in range(SCORES, 0, -1):
            for f in range(1, SCORES + 1):
                self.fields[cell_name(r, f)] = forms.ChoiceField(
                    label=_("R %(r)s × F %(f)s") % {"r": r, "f": f}, choices=choices, required=False,
                    initial=owner.get((r, f), ""))
        for segment in segments:
            self.fields[f"level_{segment.key}"] = forms.ChoiceField(
                label=segment_label(segment.key, segment.label),
                choices=[("", _("not set"))] + list(RelationshipLevel.choices), required=False,
                initial=segment.practised_level)

    def grid_rows(self):
        return [{"r": r, "cells": [self[cell_name(r, f)] for f in range(1, SCORES + 1)]}
                for r in range(SCORES, 0, -1)]

    def level_fields(self):
        return [self[f"level_{s.key}"] for s in self.segments]

    def _submitted(self, name):
        if self.data is not None and hasattr(self.data, "getlist"):
            return [v for v in self.data.getlist(name) if v != ""]
        value = (self.data or {}).get(name)
        return [value] if value else []

    def clean(self):
        data = super().clean()
        keys = {s.key for s in self.segments}
        cells = {key: [] for key in keys}
        for r in range(1, SCORES + 1):
            for f in range(1, SCORES + 1):
                for key in dict.fromkeys(self._submitted(cell_name(r, f))):
                    if key in cells:
                        cells[key].append((r, f))
        table = [(s.key, s.label, cells[s.key]) for s in self.segments]
        try:
            validate_segment_table(table)
        except ValueError:
            raise ValidationError(self._explain(table), code="segment_table") from None
        self.table = table
        return data

    def _explain(self, table):
        """The table's problems in the user's language, one message per gap or overlap."""
        seen, messages = {}, []
        labels = {s.key: segment_label(s.key, s.label) for s in self.segments}
        for key, _label, cells in table:
            for cell in cells:
                if cell in seen:
                    messages.append(_("R %(r)s × F %(f)s is in both %(a)s and %(b)s.") % {
                        "r": cell[0], "f": cell[1], "a": labels[seen[cell]], "b": labels[key]})
                else:
                    seen[cell] = key
        missing = [(r, f) for r in range(SCORES, 0, -1) for f in range(1, SCORES + 1) if (r, f) not in seen]
        if missing:
            messages.append(_("Every cell needs a segment; these have none: %(cells)s.") % {
                "cells": ", ".join(f"R{r}×F{f}" for r, f in missing)})
        return messages or [_("The segment table is not valid.")]

    @transaction.atomic
    def save(self):
        """Write every segment's cells and practised level (all rows, or none)."""
        cells = {key: [list(c) for c in sorted(cs)] for key, _label, cs in self.table}
        saved = []
        for position, segment in enumerate(self.segments):
            segment.cells = cells[segment.key]
            segment.practised_level = self.cleaned_data.get(f"level_{segment.key}") or ""
            if segment.pk is None:
                segment.position = position
            segment.save()
            saved.append(segment)
        return saved
