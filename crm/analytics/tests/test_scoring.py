import numpy as np
import pytest

from crm.analytics import scoring


def test_kotler_classes_by_hand():
    # Bands: high from 200/3, low under 100/3, a missing index is low.  Average profit 1600 / 10 = 160.
    loyalty = [90, 80, 66.7, 50, 66.6, 33.4, 33.3, 10, 5, np.nan]
    tier = [0, 0, 1, 0, 2, 2, 0, 1, 2, 2]
    profit = [500, 400, 100, 300, 10, 20, 200, 50, 5, 15]
    cells, level = scoring.kotler_classes(loyalty, tier, profit)
    assert [c["key"] for c in cells] == ["high|high", "high|general", "high|small", "medium|high", "medium|general",
                                         "medium|small", "low|high", "low|general", "low|small"]
    by_key = {c["key"]: c for c in cells}
    expected = {  # customers, count level, profit per customer, margin level, level, mean loyalty
        "high|high": (2, "medium", 450, "high", "proactive", 85),  # 450 / 160 = 2.81
        "high|general": (1, "medium", 100, "medium", "accountable", 66.7),  # share 0.10 is not "few"; 0.63
        "medium|high": (1, "medium", 300, "high", "proactive", 50),  # 1.88
        "medium|small": (2, "medium", 15, "low", "reactive", 50),  # 0.09
        "low|high": (1, "medium", 200, "medium", "accountable", 33.3),  # 1.25
        "low|general": (1, "medium", 50, "low", "reactive", 10),  # 0.31
        "low|small": (2, "medium", 10, "low", "reactive", 5),  # the missing index is left out of the mean
    }
    for key, (customers, count_level, ppc, margin_level, recommended, mean_loyalty) in expected.items():
        c = by_key[key]
        assert (c["customers"], c["count_level"], c["margin_level"], c["recommended"]) == (
            customers, count_level, margin_level, recommended), key
        assert c["profit_per_customer"] == pytest.approx(ppc) and c["mean_loyalty"] == pytest.approx(mean_loyalty)
        assert c["share"] == pytest.approx(customers / 10)
        assert (c["loyalty_band"], c["tier"]) == tuple(key.split("|"))
    for key in ("high|small", "medium|general"):
        assert by_key[key]["customers"] == 0 and by_key[key]["recommended"] is None
        assert by_key[key]["mean_loyalty"] is None
    assert level.tolist() == ["proactive", "proactive", "accountable", "proactive", "reactive", "reactive",
                              "accountable", "reactive", "reactive", "reactive"]


def test_loyalty_comes_before_value():
    # Same tier and profit, different loyalty: different classes; one class of everybody is "many" customers.
    cells, level = scoring.kotler_classes([90, 10], [0, 0], [100, 100])
    assert [c["key"] for c in cells if c["customers"]] == ["high|high", "low|high"]
    _cells, level = scoring.kotler_classes([50, 50, 50], [1, 1, 1], [10, 20, 30])
    assert level.tolist() == ["reactive"] * 3  # many customers, average margin
    assert scoring.kotler_classes([], [], [])[1].tolist() == []
