"""Data: the default RFM segment table (the usual R×F grid), which admins may edit afterwards.

A frozen copy of ``crm.analytics.stats.rfm.DEFAULT_SEGMENTS`` at the time of writing: a migration must
not change when the code does.  Every (R, F) cell of the 5×5 grid is in exactly one segment.
"""

from django.db import migrations

SEGMENTS = (
    ("champions", "Champions", "Bought recently and often: reward them, ask for referrals.", ((5, 4), (5, 5))),
    ("loyal", "Loyal", "Buy often and fairly recently: offer more, keep the relationship.",
     ((3, 4), (3, 5), (4, 4), (4, 5))),
    ("potential_loyalist", "Potential loyalist", "Recent, a few purchases: build the habit.",
     ((4, 2), (4, 3), (5, 2), (5, 3))),
    ("new", "New", "First purchase just now: welcome and onboard.", ((5, 1),)),
    ("promising", "Promising", "Recent single purchase: a second offer.", ((4, 1),)),
    ("need_attention", "Need attention", "Average on both: a timely, personal contact.", ((3, 3),)),
    ("about_to_sleep", "About to sleep", "Fading after few purchases: reactivate before they go.", ((3, 1), (3, 2))),
    ("at_risk", "At risk", "Bought often, not for a while: win them back.", ((1, 3), (1, 4), (2, 3), (2, 4))),
    ("cant_lose", "Can't lose them", "Used to buy most often, gone quiet: personal contact now.", ((1, 5), (2, 5))),
    ("hibernating", "Hibernating", "Few purchases, long ago: low-cost reminders.", ((1, 2), (2, 1), (2, 2))),
    ("lost", "Lost", "One purchase long ago: only if cheap to reach.", ((1, 1),)),
)


def seed(apps, schema_editor):
    Segment = apps.get_model("analytics", "Segment")
    seen = set()
    for position, (key, label, description, cells) in enumerate(SEGMENTS):
        for cell in cells:
            assert cell not in seen, cell
            seen.add(cell)
        Segment.objects.update_or_create(key=key, defaults={
            "label": label, "description": description, "position": position,
            "cells": [list(c) for c in cells]})
    assert len(seen) == 25, "the default table must cover every R×F cell once"


def unseed(apps, schema_editor):
    Segment = apps.get_model("analytics", "Segment")
    Segment.objects.filter(key__in=[key for key, *_rest in SEGMENTS]).delete()


class Migration(migrations.Migration):

    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
