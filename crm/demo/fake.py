"""Believable Chinese names, companies, phones, e-mail and addresses, reproducible from a seed.

Pinyin is computed once per name *part* (surname, given name, city, brand, industry word, legal form)
with :func:`crm.core.text.pinyin_keys` and joined, so a million names cost a few thousand pypinyin
calls.  The parts avoid characters with several readings, so the joined keys equal what
``Customer.save()`` would compute for the whole name (checked in the tests).
"""

import bisect
import datetime
import itertools
import random
from dataclasses import dataclass

from crm.core.text import pinyin_keys

from . import reference as ref


@dataclass(frozen=True)
class Name:
    text: str
    pinyin: str
    initials: str

    def __add__(self, other: "Name") -> "Name":
        return Name(self.text + other.text, self.pinyin + other.pinyin, self.initials + other.initials)


def _names(texts) -> list[Name]:
    return [Name(t, *pinyin_keys(t)) for t in texts]


@dataclass(frozen=True)
class Place:
    province: str
    city: str
    city_short: Name
    area_code: str
    districts: tuple


class WeightedChoice:
    """``random.choices`` with the cumulative weights computed once."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


class Faker:
    """All random choices go through ``self.rng`` so that the same seed gives the same data."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.surnames = WeightedChoice(_names(ref.SURNAMES), ref.SURNAME_WEIGHTS)
        self.given_male = _names(ref.GIVEN_NAMES_MALE)
        self.given_female = _names(ref.GIVEN_NAMES_FEMALE)
        firsts, seconds = _names(ref.BRAND_FIRST), _names(ref.BRAND_SECOND)
        self.brands = [a + b for a in firsts for b in seconds if a.text != b.text]
        self.industries = WeightedChoice(list(ref.INDUSTRY_WEIGHTS), list(ref.INDUSTRY_WEIGHTS.values()))
        self.industry_words = {k: _names(v) for k, v in ref.INDUSTRY_WORDS.items()}
        self.legal_forms = _names(ref.LEGAL_FORMS)
        self.public_bodies = _names(ref.PUBLIC_BODIES)
        self.places = {
            key: [Place(p, c, Name(s, *pinyin_keys(s)), code, tuple(d)) for p, c, s, code, d in places]
            for key, places in ref.REGIONS.items()
        }
        self.all_places = [p for places in self.places.values() for p in places]
        self.titles = WeightedChoice([(t, r) for t, r, _w in ref.CONTACT_TITLES],
                                     [w for _t, _r, w in ref.CONTACT_TITLES])

    # --- people -----------------------------------------------------------------------------
    def person(self) -> Name:
        rng = self.rng
        given = rng.choice(self.given_male if rng.random() < 0.55 else self.given_female)
        return self.surnames.pick(rng) + given

    # --- places -----------------------------------------------------------------------------
    def place(self, region_key: str | None = None) -> Place:
        places = self.places.get(region_key) or self.all_places
        # The first city of a region (the branch's own city) holds about half of its customers.
        if len(places) > 1 and self.rng.random() < 0.5:
            return places[0]
        return self.rng.choice(places)

    def street_address(self) -> str:
        rng = self.rng
        building = rng.choice(ref.BUILDINGS)
        room = f"{rng.randint(1, 25)}{rng.randint(0, 2)}{rng.randint(1, 9)}室" if building else ""
        return f"{rng.choice(ref.ROADS)}{rng.randint(1, 999)}号{building}{room}"

    # --- phones (E.164) ---------------------------------------------------------------------
    def mobile(self) -> str:
        return f"+86{self.rng.choice(ref.MOBILE_PREFIXES)}{self.rng.randint(0, 99_999_999):08d}"

    def landline(self, place: Place) -> str:
        # Local numbers never start with 0 or 1 (nor, for service numbers, with 8 or 9).
        rest = 6 if place.area_code in ref.SEVEN_DIGIT_AREA_CODES else 7
        return f"+86{place.area_code}{self.rng.randint(2, 6)}{self.rng.randint(0, 10**rest - 1):0{rest}d}"

    # --- e-mail -----------------------------------------------------------------------------
    def personal_email(self, name: Name) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return f"{rng.randint(10_000_000, 3_999_999_999)}@qq.com"
        local = name.pinyin if roll < 0.7 else name.initials
        return f"{local}{rng.randint(1, 9999) if rng.random() < 0.7 else ''}@{rng.choice(ref.EMAIL_DOMAINS_PERSONAL)}"

    def company_domain(self, brand: Name, suffix: str = "") -> str:
        return f"{brand.pinyin}{suffix}{self.rng.choice(ref.COMPANY_DOMAIN_TLDS)}"

    # --- companies --------------------------------------------------------------------------
    def company(self, place: Place) -> tuple[Name, str, str]:
        """(name, industry, e-mail domain) of a company located at ``place``."""
        rng = self.rng
        industry = self.industries.pick(rng)
        if rng.random() < 0.015:
            body = rng.choice(self.public_bodies)
            return place.city_short + body, "government", f"{place.city_short.pinyin}{body.initials}.gov.cn"
        brand = rng.choice(self.brands)
        word = rng.choice(self.industry_words[industry])
        legal = rng.choice(self.legal_forms)
        prefix = place.city_short if rng.random() < 0.8 else Name("", "", "")
        domain = self.company_domain(brand, "-" + word.initials if rng.random() < 0.5 else "")
        return prefix + brand + word + legal, industry, domain

    # --- time -------------------------------------------------------------------------------
    def birthday(self) -> datetime.date:
        return datetime.date(self.rng.randint(1960, 1998), self.rng.randint(1, 12), self.rng.randint(1, 28))
