import json
import statistics
from fractions import Fraction

import numpy as np
import pytest

from crm.analytics.stats import backtest

nan = float("nan")


# --- direct computations, one customer or one pair at a time, to check the vectorised ones against ---


def slow_auc(score, label):
    pos = [s for s, y in zip(score, label, strict=True) if y and np.isfinite(s)]
    neg = [s for s, y in zip(score, label, strict=True) if not y and np.isfinite(s)]
    if not pos or not neg:
        return None
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def slow_flag(flag, label):
    flagged = hits = positives = 0
    for f, y in zip(flag, label, strict=True):
        flagged += bool(f)
        positives += bool(y)
        hits += bool(f) and bool(y)
    n = len(flag)
    precision = hits / flagged if flagged else None
    base_rate = positives / n if n else None
    return {"flagged": flagged, "share_flagged": flagged / n if n else None, "precision": precision,
            "recall": hits / positives if positives else None, "base_rate": base_rate,
            "lift": precision / base_rate if precision is not None and base_rate else None}


def slow_best_threshold(score, label, higher_means_positive=False, min_share=0.0):
    rows = [(s, bool(y)) for s, y in zip(score, label, strict=True) if np.isfinite(s)]
    positives = sum(y for _, y in rows)
    negatives = len(rows) - positives
    if not positives or not negatives:
        return {"threshold": None, "j": None, "sensitivity": None, "specificity": None}
    best = None
    for t in sorted({s for s, _ in rows}):
        flagged = [y for s, y in rows if (s >= t if higher_means_positive else s <= t)]
        if len(flagged) < min_share * len(rows):
            continue
        tp = sum(flagged)
        fp = len(flagged) - tp
        j = Fraction(tp, positives) + Fraction(negatives - fp, negatives) - 1
        candidate = (j, -len(flagged), t, Fraction(tp, positives), Fraction(negatives - fp, negatives))
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    j, _, t, sens, spec = best
    return {"threshold": t, "j": float(j), "sensitivity": float(sens), "specificity": float(spec)}


def slow_errors(predicted, actual, mask):
    errors = []
    for p, a, m in zip(predicted, actual, mask, strict=True):
        if m and np.isfinite(p) and np.isfinite(a):
            errors.append(abs(max(p, 0.0) - a))
    return errors


def assert_close_dict(got, expected):
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if value is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(value), key


# --- AUC ---


def test_auc_by_hand():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both → 3 of 4
    assert backtest.auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    # a tie counts one half: positive 1 vs negative 1 → 0.5, positive 2 vs negative 1 → 1; (0.5 + 1) / 2
    assert backtest.auc([1, 1, 2], [True, False, True]) == pytest.approx(0.75)
    assert backtest.auc([3, 2, 1], [True, True, False]) == 1.0
    assert backtest.auc([1, 2, 3], [True, True, False]) == 0.0
    assert backtest.auc([5, 5, 5, 5], [True, False, True, False]) == 0.5


def test_auc_is_none_without_both_classes_and_leaves_out_missing_scores():
    assert backtest.auc([0.1, 0.2], [True, True]) is None
    assert backtest.auc([0.1, 0.2], [False, False]) is None
    assert backtest.auc([], []) is None
    assert backtest.auc([nan, 0.1, 0.9], [True, False, True]) == 1.0  # the NaN positive is left out
    assert backtest.auc([nan, 0.1], [True, False]) is None  # … and no positive is left
    assert isinstance(backtest.auc([0.1, 0.9], [False, True]), float)


def test_auc_matches_pairs_on_random_data():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        score = rng.integers(0, 8, n) / 4.0  # many ties
        score[rng.random(n) < 0.1] = nan
        label = rng.random(n) < 0.4
        expected = slow_auc(score, label)
        got = backtest.auc(score, label)
        assert (got is None) if expected is None else got == pytest.approx(expected)


# --- flag metrics ---


def test_flag_metrics_by_hand():
    got = backtest.flag_metrics([True, True, False, False, True], [True, False, False, True, True])
    # 3 flagged of 5, 2 of them right; 3 positives of 5
    assert got == {"flagged": 3, "share_flagged": 0.6, "precision": pytest.approx(2 / 3),
                   "recall": pytest.approx(2 / 3), "base_rate": 0.6, "lift": pytest.approx(10 / 9)}


def test_flag_metrics_edges():
    nobody = backtest.flag_metrics([False, False], [True, False])
    assert nobody == {"flagged": 0, "share_flagged": 0.0, "precision": None, "recall": 0.0, "base_rate": 0.5,
                      "lift": None}
    no_positive = backtest.flag_metrics([True, False], [False, False])
    assert no_positive == {"flagged": 1, "share_flagged": 0.5, "precision": 0.0, "recall": None,
                           "base_rate": 0.0, "lift": None}
    assert backtest.flag_metrics([], []) == {"flagged": 0, "share_flagged": None, "precision": None,
                                             "recall": None, "base_rate": None, "lift": None}
    with pytest.raises(ValueError):
        backtest.flag_metrics([True], [True, False])


def test_flag_metrics_match_a_loop_on_random_data():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(0, 50))
        flag, label = rng.random(n) < 0.3, rng.random(n) < 0.5
        assert_close_dict(backtest.flag_metrics(flag, label), slow_flag(flag, label))


# --- best threshold ---


def test_best_threshold_low_score_means_positive():
    # P(alive) and lapsed; P = N = 3.  Flag score <= t:
    # t=0.1 → TP 1, FP 0, J 1/3;  t=0.2 → TP 2, FP 1, J 1/3;  t=0.5 → TP 3, FP 1, J 2/3;  t=0.9 → J 0
    got = backtest.best_threshold([0.1, 0.2, 0.2, 0.5, 0.9, 0.9], [True, True, False, True, False, False])
    assert got == {"threshold": 0.5, "j": pytest.approx(2 / 3), "sensitivity": 1.0,
                   "specificity": pytest.approx(2 / 3)}


def test_best_threshold_ties_in_j_flag_the_fewest_and_min_share_excludes_short_lists():
    score, label = [1, 2, 3, 4], [True, False, True, False]
    # t=1 → J 1/2 - 0 = 1/2 (1 flagged);  t=2 → 0;  t=3 → 1 - 1/2 = 1/2 (3 flagged);  t=4 → 0
    assert backtest.best_threshold(score, label) == {"threshold": 1.0, "j": 0.5, "sensitivity": 0.5,
                                                     "specificity": 1.0}
    # t=1 flags 1/4 < 0.5 of the customers and is not considered; t=3 is the best of the rest
    assert backtest.best_threshold(score, label, min_share=0.5) == {"threshold": 3.0, "j": 0.5,
                                                                    "sensitivity": 1.0, "specificity": 0.5}
    # only flagging everybody flags 100 %
    assert backtest.best_threshold(score, label, min_share=1.0)["threshold"] == 4.0
    with pytest.raises(ValueError):
        backtest.best_threshold(score, label, min_share=1.5)


def test_best_threshold_high_score_means_positive():
    # flag score >= t: t=5 → TP 1, FP 0, J 1/2;  t=4 → TP 2, FP 0, J 1;  t=3 → J 1/2;  t=1 → 0
    got = backtest.best_threshold([5, 4, 3, 1], [True, True, False, False], higher_means_positive=True)
    assert got == {"threshold": 4.0, "j": 1.0, "sensitivity": 1.0, "specificity": 1.0}


def test_best_threshold_equal_scores_get_the_same_flag():
    score, label = np.array([0.2, 0.2, 0.7]), np.array([True, False, False])
    # the positive shares its score with a negative: flagging it flags both (t=0.2: J = 1 - 1/2)
    got = backtest.best_threshold(score, label)
    assert got == {"threshold": 0.2, "j": 0.5, "sensitivity": 1.0, "specificity": 0.5}
    assert backtest.flag_at(score, got["threshold"]).tolist() == [True, True, False]
    high = backtest.best_threshold(-score, label, higher_means_positive=True)
    assert high["threshold"] == -0.2
    assert backtest.flag_at(-score, high["threshold"], higher_means_positive=True).tolist() == [True, True, False]
    assert backtest.flag_at(score, None).tolist() == [False, False, False]


def test_best_threshold_without_both_classes():
    empty = {"threshold": None, "j": None, "sensitivity": None, "specificity": None}
    assert backtest.best_threshold([0.1, 0.5], [True, True]) == empty
    assert backtest.best_threshold([nan, 0.5], [True, False]) == empty  # the only positive has no score
    assert backtest.best_threshold([], []) == empty


def test_best_threshold_matches_a_loop_on_random_data():
    rng = np.random.default_rng(3)
    for i in range(60):
        n = int(rng.integers(2, 40))
        score = rng.integers(0, 6, n) / 5.0
        score[rng.random(n) < 0.1] = nan
        label = rng.random(n) < 0.5
        higher, min_share = bool(i % 2), float(rng.choice([0.0, 0.2, 0.5]))
        got = backtest.best_threshold(score, label, higher_means_positive=higher, min_share=min_share)
        assert_close_dict(got, slow_best_threshold(score, label, higher, min_share))


# --- churn comparison ---

LAPSED = [False, False, True, True, False, True]
MODEL = [0.9, 0.8, 0.3, 0.2, 0.7, 0.1]  # ranks every active customer above every lapsed one
BASELINE = [-10, -50, -40, -60, -20, -30]  # minus days since the last purchase


def test_churn_comparison_by_hand():
    got = backtest.churn_comparison(MODEL, BASELINE, LAPSED)
    assert got["customers"] == 6 and got["lapsed"] == 3 and got["margin"] == 0.005
    model = got["model"]
    assert model["auc"] == 1.0
    # flag P(alive) <= 0.3: exactly the three lapsed customers
    assert (model["threshold"], model["j"], model["sensitivity"], model["specificity"]) == (0.3, 1.0, 1.0, 1.0)
    assert model["flag"] == {"flagged": 3, "share_flagged": 0.5, "precision": 1.0, "recall": 1.0,
                             "base_rate": 0.5, "lift": 2.0}
    base = got["baseline"]
    # active −10, −50, −20 against lapsed −40, −60, −30: −10 and −20 beat all three, −50 beats −60 → 7/9
    assert base["auc"] == pytest.approx(7 / 9)
    # flag −days <= t, ascending −60 T, −50 F, −40 T, −30 T, −20 F, −10 F: J 1/3, 0, 1/3, 2/3, 1/3, 0
    assert base["threshold"] == -30.0
    assert base["j"] == pytest.approx(2 / 3)
    assert (base["sensitivity"], base["specificity"]) == (1.0, pytest.approx(2 / 3))
    assert base["flag"] == {"flagged": 4, "share_flagged": pytest.approx(4 / 6), "precision": 0.75,
                            "recall": 1.0, "base_rate": 0.5, "lift": 1.5}
    assert got["lift_over_baseline"] == pytest.approx(1 / 0.75)
    assert got["winner"] == "model"


def test_churn_comparison_margin_and_ties_go_to_the_baseline():
    # the AUCs differ by 1 - 7/9 = 2/9 ≈ 0.222
    assert backtest.churn_comparison(MODEL, BASELINE, LAPSED, margin=0.2)["winner"] == "model"
    assert backtest.churn_comparison(MODEL, BASELINE, LAPSED, margin=0.25)["winner"] == "baseline"
    assert backtest.churn_comparison(MODEL, BASELINE, LAPSED, margin=2 / 9)["winner"] == "baseline"
    same = backtest.churn_comparison(BASELINE, BASELINE, LAPSED, margin=0.0)
    assert same["winner"] == "baseline"
    assert same["lift_over_baseline"] == 1.0


def test_churn_comparison_uses_the_same_customers_for_both():
    model = MODEL + [nan, 0.5]
    baseline = BASELINE + [-5, nan]
    got = backtest.churn_comparison(model, baseline, LAPSED + [True, True])
    assert got == backtest.churn_comparison(MODEL, BASELINE, LAPSED)


def test_churn_comparison_without_both_classes():
    got = backtest.churn_comparison(MODEL, BASELINE, [True] * 6)
    assert got["model"]["auc"] is None and got["baseline"]["auc"] is None
    assert got["model"]["threshold"] is None
    assert got["model"]["flag"]["flagged"] == 0 and got["model"]["flag"]["precision"] is None
    assert got["lift_over_baseline"] is None
    assert got["winner"] == "baseline"
    with pytest.raises(ValueError):
        backtest.churn_comparison(MODEL, BASELINE, LAPSED[:-1])


def test_churn_comparison_matches_loops_on_random_data():
    rng = np.random.default_rng(4)
    for _ in range(15):
        n = int(rng.integers(4, 40))
        lapsed = rng.random(n) < 0.5
        model = np.round(np.clip(0.6 - 0.3 * lapsed + rng.normal(0, 0.3, n), 0, 1), 1)
        baseline = -rng.integers(0, 10, n).astype(float)
        got = backtest.churn_comparison(model, baseline, lapsed, margin=0.01)
        for key, score in (("model", model), ("baseline", baseline)):
            expected_auc = slow_auc(score, ~lapsed)
            assert (got[key]["auc"] is None) if expected_auc is None else got[key]["auc"] == pytest.approx(
                expected_auc)
            expected = slow_best_threshold(score, lapsed)
            assert_close_dict({k: got[key][k] for k in expected}, expected)
            flag = [s <= expected["threshold"] if expected["threshold"] is not None else False for s in score]
            assert_close_dict(got[key]["flag"], slow_flag(flag, lapsed))
        m, b = got["model"]["auc"], got["baseline"]["auc"]
        assert got["winner"] == ("model" if m is not None and m - b > 0.01 + 1e-12 else "baseline")


# --- timing ---


def test_timing_errors_by_hand():
    predicted = [10, -5, 40, nan, 100, 7]
    actual = [15, 3, 80, 10, 20, nan]
    mask = [True, True, True, True, False, True]
    # used: 0 (|10 - 15| = 5), 1 (overdue → 0, |0 - 3| = 3), 2 (|40 - 80| = 40); 3 no prediction,
    # 4 masked out, 5 no actual
    got = backtest.timing_errors(predicted, actual, mask)
    assert got == {"customers": 3, "mae_days": 16.0, "median_ae_days": 5.0, "within_30_days": pytest.approx(2 / 3)}
    # an error of exactly 30 days is within 30 days
    assert backtest.timing_errors([0, 0], [30, 30.5], [True, True])["within_30_days"] == 0.5


def test_timing_errors_without_customers():
    assert backtest.timing_errors([1.0], [2.0], [False]) == {"customers": 0, "mae_days": None,
                                                             "median_ae_days": None, "within_30_days": None}
    with pytest.raises(ValueError):
        backtest.timing_errors([1.0], [2.0, 3.0], [True])


def test_timing_errors_match_a_loop_on_random_data():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(0, 60))
        predicted = rng.normal(30, 40, n)
        actual = rng.uniform(0, 120, n)
        predicted[rng.random(n) < 0.1] = nan
        actual[rng.random(n) < 0.1] = np.inf
        mask = rng.random(n) < 0.8
        errors = slow_errors(predicted, actual, mask)
        got = backtest.timing_errors(predicted, actual, mask)
        assert got["customers"] == len(errors)
        if errors:
            assert got["mae_days"] == pytest.approx(sum(errors) / len(errors))
            assert got["median_ae_days"] == pytest.approx(statistics.median(errors))
            assert got["within_30_days"] == pytest.approx(sum(e <= 30 for e in errors) / len(errors))
        else:
            assert got["mae_days"] is None


def test_compare_timing_by_hand():
    candidates = {"rhythm": [10, 20, 30, nan], "model": [12, 18, 50, 5], "median": [15, 15, 15, 15]}
    got = backtest.compare_timing(candidates, [11, 21, 40, 5], [True] * 4, baseline="median")
    # customer 3 has no rhythm prediction, so every method is judged on customers 0–2:
    # rhythm 1, 1, 10 → 4;  model 1, 3, 10 → 14/3;  median 4, 6, 25 → 35/3
    assert [m["key"] for m in got["methods"]] == ["rhythm", "model", "median"]
    assert [m["customers"] for m in got["methods"]] == [3, 3, 3]
    assert [m["mae_days"] for m in got["methods"]] == pytest.approx([4.0, 14 / 3, 35 / 3])
    assert [m["baseline"] for m in got["methods"]] == [False, False, True]
    assert got["methods"][0]["median_ae_days"] == 1.0
    assert got["chosen"] == "rhythm"


def test_compare_timing_baseline_wins_ties_and_empty_evaluations():
    actual, mask = [10, 20], [True, True]
    tie = backtest.compare_timing({"other": [12, 18], "base": [8, 22]}, actual, mask, baseline="base")
    assert [m["mae_days"] for m in tie["methods"]] == [2.0, 2.0]
    assert tie["chosen"] == "base"
    worse = backtest.compare_timing({"other": [15, 18], "base": [8, 22]}, actual, mask, baseline="base")
    assert worse["chosen"] == "base"
    nobody = backtest.compare_timing({"other": [12, nan], "base": [nan, 22]}, actual, mask, baseline="base")
    assert nobody["chosen"] == "base"
    assert [m["customers"] for m in nobody["methods"]] == [0, 0]
    with pytest.raises(ValueError):
        backtest.compare_timing({"other": [1, 2]}, actual, mask, baseline="base")


def test_compare_timing_matches_a_loop_on_random_data():
    rng = np.random.default_rng(6)
    for _ in range(10):
        n = int(rng.integers(1, 50))
        actual = rng.uniform(0, 100, n)
        mask = rng.random(n) < 0.9
        candidates = {key: rng.normal(50, 30, n) for key in ("a", "b", "c")}
        for values in candidates.values():
            values[rng.random(n) < 0.1] = nan
        got = backtest.compare_timing(candidates, actual, mask, baseline="b")
        common = [bool(mask[i]) and all(np.isfinite(v[i]) for v in candidates.values()) for i in range(n)]
        maes = {}
        for method in got["methods"]:
            errors = slow_errors(candidates[method["key"]], actual, common)
            assert method["customers"] == len(errors)
            maes[method["key"]] = sum(errors) / len(errors) if errors else None
            assert method["mae_days"] == (pytest.approx(maes[method["key"]]) if errors else None)
        if maes["b"] is None:
            assert got["chosen"] == "b"
        else:
            assert got["chosen"] == min(maes, key=lambda k: (maes[k], k != "b"))


# --- deciles and frequency buckets ---


def test_by_decile_by_hand():
    predicted = [5, 1, 3, 4, 2]
    actual = [4, 2, 3, 5, 0]
    baseline = [3, 1, 2, 6, 0]
    got = backtest.by_decile(predicted, actual, baseline, deciles=2)
    # sorted by prediction: 5, 4, 3 | 2, 1 (5 customers in 2 groups: 3 and 2, as np.array_split)
    assert got["labels"] == ["1", "2"]
    assert got["customers"] == [3, 2]
    assert got["mean_predicted"] == [4.0, 1.5]
    assert got["mean_actual"] == [4.0, 1.0]  # (4 + 5 + 3) / 3, (0 + 2) / 2
    assert got["mean_baseline"] == pytest.approx([11 / 3, 0.5])  # (3 + 6 + 2) / 3, (0 + 1) / 2
    assert got["totals"] == {"customers": 5, "predicted": 15.0, "actual": 14.0, "baseline": 12.0}
    assert got["mae_predicted"] == 1.0  # errors 1, 1, 0, 1, 2
    assert got["mae_baseline"] == 0.8  # errors 1, 1, 1, 1, 0


def test_by_decile_without_baseline_small_groups_and_ties():
    got = backtest.by_decile([3, 1, 2, nan], [30, 10, 20, 5], deciles=5)
    assert got["customers"] == [1, 1, 1, 0, 0]
    assert got["mean_actual"] == [30.0, 20.0, 10.0, None, None]
    assert got["mean_baseline"] is None and got["mae_baseline"] is None
    assert got["totals"] == {"customers": 3, "predicted": 6.0, "actual": 60.0, "baseline": None}
    # equal predictions straddle the boundary in input order
    tied = backtest.by_decile([2, 2, 2, 1], [7, 8, 9, 0], deciles=2)
    assert tied["mean_actual"] == [7.5, 4.5]
    empty = backtest.by_decile([], [], [], deciles=3)
    assert empty["customers"] == [0, 0, 0] and empty["mae_predicted"] is None and empty["mae_baseline"] is None
    with pytest.raises(ValueError):
        backtest.by_decile([1], [1], deciles=0)


def test_by_decile_matches_a_loop_on_random_data():
    rng = np.random.default_rng(7)
    for _ in range(15):
        n = int(rng.integers(0, 45))
        predicted = rng.integers(0, 10, n).astype(float)
        actual = rng.gamma(2.0, 3.0, n)
        baseline = rng.gamma(2.0, 3.0, n)
        deciles = int(rng.integers(1, 12))
        got = backtest.by_decile(predicted, actual, baseline, deciles=deciles)
        order = sorted(range(n), key=lambda i: -predicted[i])  # Python's sort is stable
        for k, chunk in enumerate(np.array_split(np.array(order, dtype=int), deciles)):
            assert got["customers"][k] == len(chunk)
            for key, values in (("mean_predicted", predicted), ("mean_actual", actual),
                                ("mean_baseline", baseline)):
                expected = sum(values[i] for i in chunk) / len(chunk) if len(chunk) else None
                assert got[key][k] == (pytest.approx(expected) if len(chunk) else None)
        if n:
            assert got["mae_predicted"] == pytest.approx(sum(abs(predicted[i] - actual[i]) for i in range(n)) / n)
            assert got["mae_baseline"] == pytest.approx(sum(abs(baseline[i] - actual[i]) for i in range(n)) / n)
            assert got["totals"]["actual"] == pytest.approx(sum(actual))


def test_by_frequency_with_baseline_by_hand():
    got = backtest.by_frequency_with_baseline([0, 0, 1, 9, 2], [0.1, 0.3, 1.0, 5.0, nan], [0, 1, 2, 4, 1],
                                              [0, 0.5, 2, 3, 1], max_bucket=2)
    # the last customer has no prediction and is left out
    assert got["labels"] == ["0", "1", "2+"]
    assert got["customers"] == [2, 1, 1]
    assert got["mean_predicted"] == pytest.approx([0.2, 1.0, 5.0])
    assert got["mean_actual"] == pytest.approx([0.5, 2.0, 4.0])
    assert got["mean_baseline"] == pytest.approx([0.25, 2.0, 3.0])
    assert got["totals"] == {"customers": 4, "predicted": pytest.approx(6.4), "actual": 7.0, "baseline": 5.5}
    assert got["mae_predicted"] == pytest.approx(0.7)  # 0.1 + 0.7 + 1 + 1 = 2.8 over 4
    assert got["mae_baseline"] == pytest.approx(0.375)  # 0 + 0.5 + 0 + 1 = 1.5 over 4
    empty = backtest.by_frequency_with_baseline([0], [nan], [0], [0], max_bucket=1)
    assert empty["customers"] == [0, 0] and empty["mean_baseline"] == [None, None]
    assert empty["mae_predicted"] is None and empty["totals"]["customers"] == 0


def test_by_frequency_with_baseline_matches_a_loop_on_random_data():
    rng = np.random.default_rng(8)
    for _ in range(10):
        n = int(rng.integers(1, 60))
        frequency = rng.integers(0, 12, n)
        predicted, actual, baseline = rng.gamma(1.0, 2.0, n), rng.poisson(2.0, n), rng.gamma(1.0, 2.0, n)
        got = backtest.by_frequency_with_baseline(frequency, predicted, actual, baseline, max_bucket=5)
        for k in range(6):
            members = [i for i in range(n) if min(frequency[i], 5) == k]
            assert got["customers"][k] == len(members)
            for key, values in (("mean_predicted", predicted), ("mean_actual", actual),
                                ("mean_baseline", baseline)):
                expected = sum(values[i] for i in members) / len(members) if members else None
                assert got[key][k] == (pytest.approx(expected) if members else None)
        assert got["mae_baseline"] == pytest.approx(sum(abs(baseline[i] - actual[i]) for i in range(n)) / n)
        assert got["totals"]["baseline"] == pytest.approx(sum(baseline))


# --- verdict and the naive baselines ---


def test_verdict():
    assert backtest.verdict(10, 12) == "better"
    assert backtest.verdict(12, 10) == "worse"
    assert backtest.verdict(10, 10) == "same"
    assert backtest.verdict(10, 10.5, margin=1.0) == "same"
    assert backtest.verdict(10, 11.5, margin=1.0) == "better"
    assert backtest.verdict(0.8, 0.7, lower_is_better=False) == "better"
    assert backtest.verdict(0.7, 0.8, lower_is_better=False) == "worse"
    assert backtest.verdict(0.81, 0.795, lower_is_better=False, margin=0.005) == "better"
    # 0.8 - 0.795 is 0.005000000000000004 in floating point: still not more than a margin of 0.005
    assert backtest.verdict(0.8, 0.795, lower_is_better=False, margin=0.005) == "same"
    assert backtest.verdict(0.795, 0.8, lower_is_better=False, margin=0.005) == "same"
    assert backtest.verdict(None, 1.0) == "unavailable"
    assert backtest.verdict(1.0, nan) == "unavailable"


def test_naive_rate_baseline():
    # 2 purchases in 10 periods → 4 in 20; nothing bought → 0; T = 0 → 0
    got = backtest.naive_rate_baseline([2, 0, 3], [10, 5, 0], 20)
    assert got.tolist() == [4.0, 0.0, 0.0]
    assert np.isnan(backtest.naive_rate_baseline([1.0], [nan], 20)).all()  # unknown age: no guess
    rng = np.random.default_rng(9)
    x, T = rng.integers(0, 10, 30), rng.integers(0, 5, 30) * 7.5
    expected = [xi / ti * 52 if ti else 0.0 for xi, ti in zip(x, T, strict=True)]
    assert backtest.naive_rate_baseline(x, T, 52) == pytest.approx(expected)


def test_median_gap_by_hand():
    # gaps: 10 (once), 15 (twice), 2 (three times) → 2, 2, 2, 10, 15, 15 → (2 + 10) / 2
    assert backtest.median_gap([0, 1, 2, 3], [0, 10, 30, 6]) == 6.0
    # 4 (once), 10 (twice) → 4, 10, 10
    assert backtest.median_gap([1, 2], [4, 20]) == 10.0
    assert backtest.median_gap([0, 0], [0, 0]) is None
    assert backtest.median_gap([], []) is None


def test_median_gap_matches_the_list_of_gaps_on_random_data():
    rng = np.random.default_rng(10)
    for _ in range(30):
        n = int(rng.integers(1, 40))
        x = rng.integers(0, 6, n)
        recency = x * rng.uniform(1, 30, n)
        gaps = [recency[i] / x[i] for i in range(n) for _ in range(x[i])]
        got = backtest.median_gap(x, recency)
        assert got == (pytest.approx(statistics.median(gaps)) if gaps else None)


def test_results_are_plain_python_for_json():
    got = backtest.churn_comparison(MODEL, BASELINE, LAPSED)
    json.dumps(got, allow_nan=False)
    json.dumps(backtest.by_decile(MODEL, MODEL, BASELINE), allow_nan=False)
    json.dumps(backtest.compare_timing({"a": MODEL, "b": BASELINE}, MODEL, [True] * 6, "a"), allow_nan=False)
    assert type(got["model"]["flag"]["flagged"]) is int
    assert type(got["model"]["threshold"]) is float
