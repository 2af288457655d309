"""``crm analyze`` needs no database: these tests use none."""

import codecs
import csv
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.analytics.management.commands.analyze import Command, parse_amount, parse_date


def analyze(*args):
    out, err = StringIO(), StringIO()
    call_command(Command(), *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, text, name="t.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_cdnow_weekly_reproduces_the_published_estimates(cdnow_csv, tmp_path):
    out_file = tmp_path / "customers.csv"
    # The sample's eight one-CD purchases at $0.00 are purchases in the published data: --count-zero-days.
    out, _ = analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                     "--as-of", "1997-09-30", "--period", "week", "--count-zero-days", "--model", "bgnbd",
                     "--out", out_file, "--json")
    report = json.loads(out)
    assert report["customers"] == 2357
    assert report["input"]["netting"]["zero_rows"] == 8 and report["input"]["netting"]["return_rows"] == 0
    assert report["as_of"] == "1997-09-30" and report["period"] == "week"
    b = report["bgnbd"]
    assert (round(b["r"], 3), round(b["alpha"], 3), round(b["a"], 3), round(b["b"], 3)) == (0.243, 4.414, 0.793, 2.426)
    assert round(b["log_likelihood"], 1) == -9582.4
    g = report["gamma_gamma"]
    assert (round(g["p"], 2), round(g["q"], 2), round(g["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert isinstance(g["log_likelihood"], float)
    assert sum(report["rfm"]["segments"].values()) == 2357
    for letter in "RFM":
        assert sum(report["rfm"]["scores"][letter].values()) == 2357
    tiers = report["tiers"]
    assert sum(tiers["counts"].values()) == 2357
    assert sum(tiers["customer_shares"].values()) == pytest.approx(1, abs=1e-5)
    assert sum(tiers["profit_shares"].values()) == pytest.approx(1, abs=1e-5)
    assert tiers["sentence"].endswith("of customers bring 80% of revenue")
    assert 0 < tiers["gini"] < 1

    with out_file.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2357
    first = rows[0]
    assert first["customer"] == "00004"
    history = (first["frequency"], first["recency"], first["T"], first["monetary"])
    assert history == ("2", "30.4286", "38.8571", "22.345")
    for column in ("p_alive", "expected_purchases_next_period", "expected_spend", "clv", "next_purchase_date",
                   "segment", "tier", "R", "F", "M"):
        assert first[column] != "", column
    one_timer = next(row for row in rows if row["frequency"] == "0")
    assert float(one_timer["p_alive"]) == 1.0


def test_readable_summary_without_json(cdnow_csv):
    out, _ = analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                     "--as-of", "1997-09-30", "--count-zero-days", "--model", "bgnbd")
    assert "Customers: 2357" in out
    assert "Champions" in out and "BG/NBD: r 0.2426" in out and "Gamma-Gamma: p 6.2496" in out


def test_mbgnbd_by_default_gives_one_time_buyers_a_chance_to_have_lapsed(cdnow_csv, tmp_path):
    out_file = tmp_path / "customers.csv"
    out, _ = analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                     "--as-of", "1997-09-30", "--count-zero-days", "--out", out_file, "--json")
    b = json.loads(out)["bgnbd"]
    # lifetimes 0.11.3's ModifiedBetaGeoFitter on the same summary (see test_mbgnbd.py)
    assert b["model"] == "mbgnbd"
    assert (round(b["r"], 4), round(b["alpha"], 4), round(b["a"], 4), round(b["b"], 4)) == (
        0.5248, 6.1831, 0.8914, 1.614)
    with out_file.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    one_timers = [row for row in rows if row["frequency"] == "0"]
    assert all(float(row["p_alive"]) < 1 for row in one_timers)
    assert all(row["next_purchase_date"] == "" for row in one_timers)  # no pattern yet


def test_backtest_split_prints_the_same_figures_as_the_quality_module(cdnow_csv, cdnow):
    from crm.analytics.stats import quality

    out, _ = analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                     "--as-of", "1998-06-30", "--backtest-split", "1997-09-30", "--json")
    report = json.loads(out)
    bt = report["backtest"]
    customer, date, amount = cdnow
    direct = quality.run(quality.split_transactions(customer, date, amount, split="1997-09-30",
                                                    as_of="1998-06-30", period="week"))
    assert bt["customers"] == direct["customers"] == 2349  # the eight $0-only customers have not bought
    assert bt["churn"]["auc"] == pytest.approx(direct["churn"]["auc"])
    assert bt["churn"]["model"] == "mbgnbd" and report["bgnbd"]["model"] == "mbgnbd"
    assert bt["timing"]["chosen"] == report["timing"]["method"] == direct["timing"]["chosen"]
    assert bt["verdicts"] == direct["verdicts"]
    text, _ = analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                      "--as-of", "1998-06-30", "--backtest-split", "1997-09-30")
    assert "Backtest (split 1997-09-30" in text and "recency rule" in text
    with pytest.raises(CommandError, match="before the as-of"):
        analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                "--as-of", "1997-09-30", "--backtest-split", "1998-01-01")


def test_utf8_bom_chinese_headers_costs_and_as_of(tmp_path):
    text = ("\ufeff客户,日期,金额,成本\n"
            "甲,2024-01-01,100,60\n甲,2024-01-01,50,30\n甲,2024/02/01,80,50\n乙,20240115,\"1,000.00\",900\n"
            "丙,2024-03-01 10:30,¥20,5\n丙,2024-12-31,20,5\n")
    out, _ = analyze(write(tmp_path, text), "--customer", "客户", "--date", "日期", "--amount", "金额",
                     "--cost", "成本", "--as-of", "2024-06-30", "--json")
    report = json.loads(out)
    assert report["customers"] == 3
    assert report["input"]["transactions"] == 4  # same-day merge; the December row is after the as-of date
    assert report["tiers"]["basis"] == "gross_profit"
    assert report["rfm"]["segments"]["at_risk"] == 1  # 甲: last bought 2024-02-01
    # Three customers are too few for a model: the command still answers, and says so.
    assert report["errors"]["bgnbd"]


def test_period_day_scales_alpha_by_seven(cdnow_csv):
    args = [cdnow_csv, "--customer", "number", "--date", "date", "--amount", "amount", "--as-of", "1997-09-30",
            "--json"]
    week = json.loads(analyze(*args, "--period", "week")[0])["bgnbd"]
    day = json.loads(analyze(*args, "--period", "day")[0])["bgnbd"]
    assert day["alpha"] == pytest.approx(7 * week["alpha"], rel=1e-4)
    assert day["r"] == pytest.approx(week["r"], rel=1e-4) and day["b"] == pytest.approx(week["b"], rel=1e-4)


def test_missing_column_names_what_the_header_has(tmp_path):
    path = write(tmp_path, "id,day,value\n1,2024-01-01,5\n")
    with pytest.raises(CommandError, match=r"--date 'date'.*The header has: 'id', 'day', 'value'"):
        analyze(path, "--customer", "id", "--date", "date", "--amount", "value")


def test_bad_dates_and_amounts_are_listed_with_line_numbers(tmp_path):
    path = write(tmp_path, "c,d,a\n1,2024-01-01,5\n2,2024-02-30,5\n3,2024-01-02,abc\n4,,7\n5,2024-01-03\n")
    with pytest.raises(CommandError) as info:
        analyze(path, "--customer", "c", "--date", "d", "--amount", "a")
    message = str(info.value)
    assert "4 row(s) cannot be read" in message
    assert "line 3: bad date '2024-02-30'" in message
    assert "line 4: bad amount 'abc'" in message
    assert "line 5: bad date ''" in message
    assert "line 6: 2 fields, expected at least 3" in message
    assert "--skip-bad" in message


def test_skip_bad_skips_and_reports(tmp_path):
    path = write(tmp_path, "c,d,a\n1,2024-01-01,5\n1,2024-01-09,6\n2,2024-01-05,x\n2,2024-01-06,4\n")
    out, err = analyze(path, "--customer", "c", "--date", "d", "--amount", "a", "--skip-bad", "--json")
    report = json.loads(out)
    assert report["input"]["skipped_rows"] == 1
    assert report["input"]["skipped"] == [{"line": 4, "reason": "bad amount 'x'"}]
    assert report["customers"] == 2
    assert "1 row(s) cannot be read" in err


def test_empty_file_bad_as_of_and_nothing_before_it(tmp_path):
    with pytest.raises(CommandError, match="is empty"):
        analyze(write(tmp_path, ""), "--customer", "c", "--date", "d", "--amount", "a")
    with pytest.raises(CommandError, match="no transactions"):
        analyze(write(tmp_path, "c,d,a\n"), "--customer", "c", "--date", "d", "--amount", "a")
    path = write(tmp_path, "c,d,a\n1,2024-01-01,5\n")
    with pytest.raises(CommandError, match="--as-of 'soon' is not a date"):
        analyze(path, "--customer", "c", "--date", "d", "--amount", "a", "--as-of", "soon")
    with pytest.raises(CommandError, match="No transactions on or before 2023-12-31"):
        analyze(path, "--customer", "c", "--date", "d", "--amount", "a", "--as-of", "2023-12-31")
    with pytest.raises(CommandError, match="Cannot open"):
        analyze(tmp_path / "missing.csv", "--customer", "c", "--date", "d", "--amount", "a")


ZH = "客户编号,日期,金额\n张三,2024-01-01,100\n李四,2024-01-02,200\n张三,2024-01-09,50\n王五,2024-01-10,80\n"


def analyze_bytes(tmp_path, data, *args, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return analyze(path, "--customer", "客户编号", "--date", "日期", "--amount", "金额", *args)


@pytest.mark.parametrize(("data", "name", "source"), [
    (ZH.encode("utf-8"), "utf-8", "utf-8"),
    (ZH.encode("utf-8-sig"), "utf-8-sig", "bom"),
    (ZH.encode("gbk"), "gb18030", "detected"),
    (ZH.replace("\n", "\r\n").encode("gbk"), "gb18030", "detected"),  # as Excel saves "CSV" on Chinese Windows
])
def test_the_encoding_is_detected_and_reported(tmp_path, data, name, source):
    report = json.loads(analyze_bytes(tmp_path, data, "--json")[0])
    assert report["input"]["encoding"] == {"name": name, "source": source}
    assert report["customers"] == 3 and report["input"]["transactions"] == 4
    assert report["input"]["skipped_rows"] == 0


def test_gb18030_characters_outside_gbk(tmp_path):
    text = ZH.replace("张三", "张𠀀").replace("李四", "李㐀")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = tmp_path / "gb18030.csv"
    path.write_bytes(text.encode("gb18030"))
    out_file = tmp_path / "out.csv"
    report = json.loads(analyze(path, "--customer", "客户编号", "--date", "日期", "--amount", "金额", "--json",
                                "--out", out_file)[0])
    assert report["input"]["encoding"] == {"name": "gb18030", "source": "detected"}
    with out_file.open(encoding="utf-8") as handle:
        customers = [row["customer"] for row in csv.DictReader(handle)]
    assert sorted(customers) == sorted(["张𠀀", "李㐀", "王五"])


def test_excel_unicode_text_is_utf16_with_a_bom_and_tabs(tmp_path):
    data = ZH.replace(",", "\t").replace("\n", "\r\n").encode("utf-16")  # Python writes the BOM, LE here
    assert data.startswith(b"\xff\xfe")
    out, _ = analyze_bytes(tmp_path, data, "--delimiter", "\t")
    assert "Encoding: utf-16 (from its byte-order mark)." in out
    assert "Customers: 3 " in out
    big_endian = codecs.BOM_UTF16_BE + ZH.replace(",", "\t").encode("utf-16-be")
    report = json.loads(analyze_bytes(tmp_path, big_endian, "--delimiter", "tab", "--json")[0])
    assert report["input"]["encoding"] == {"name": "utf-16", "source": "bom"} and report["customers"] == 3


def test_encoding_option_forces_the_codec(tmp_path):
    report = json.loads(analyze_bytes(tmp_path, ZH.encode("gbk"), "--encoding", "GBK", "--json")[0])
    assert report["input"]["encoding"] == {"name": "gbk", "source": "option"}
    assert report["customers"] == 3
    out, _ = analyze_bytes(tmp_path, ZH.encode("gbk"), "--encoding", "cp936")
    assert "Encoding: gbk (as given by --encoding)." in out
    # Forcing the wrong codec: the file does not decode, and the message points to --encoding.
    with pytest.raises(CommandError, match=r"is not utf-8 text .* --encoding"):
        analyze_bytes(tmp_path, ZH.encode("gbk"), "--encoding", "utf-8")


@pytest.mark.parametrize("name", ["xyz", "base64"])
def test_an_unknown_encoding_is_refused(tmp_path, name):
    with pytest.raises(CommandError, match=f"--encoding '{name}' is not a known text encoding"):
        analyze_bytes(tmp_path, ZH.encode("utf-8"), "--encoding", name)


def test_undetectable_bytes_ask_for_encoding(tmp_path):
    data = bytes(range(256)) * 8
    with pytest.raises(CommandError, match=r"Cannot tell the text encoding .* --encoding"):
        analyze_bytes(tmp_path, data)


def test_bad_rows_keep_their_line_numbers_in_a_detected_encoding(tmp_path):
    data = (ZH + "赵六,2024-02-30,5\n").encode("gbk")
    with pytest.raises(CommandError, match=r"1 row\(s\) cannot be read — line 6: bad date '2024-02-30'"):
        analyze_bytes(tmp_path, data)


def test_one_time_buyers_only_still_give_rfm_and_tiers(tmp_path):
    path = write(tmp_path, "c,d,a\n1,2024-01-01,5\n2,2024-01-05,6\n3,2024-01-07,1\n")
    report = json.loads(analyze(path, "--customer", "c", "--date", "d", "--amount", "a", "--json")[0])
    assert report["customers"] == 3
    assert report["bgnbd"] is None and report["gamma_gamma"] is None
    assert set(report["errors"]) == {"bgnbd", "gamma_gamma"}


def test_parsers():
    assert parse_date("1997-01-01") == 9862 == parse_date("19970101") == parse_date("1997/1/1")
    assert parse_date("1997-01-01T10:00:00") == 9862
    assert parse_date("1997-02-29") is None and parse_date("1997-13-01") is None and parse_date("x") is None
    assert parse_amount(" 1,234.50 ") == 1234.5 and parse_amount("¥12") == 12 and parse_amount("-3") == -3
    assert parse_amount("") is None and parse_amount("nan") is None and parse_amount("1e999") is None


def test_cdnow_without_count_zero_days_leaves_the_eight_free_cd_customers_out(cdnow_csv):
    report = json.loads(analyze(cdnow_csv, "--customer", "customer", "--date", "date", "--amount", "amount",
                                "--as-of", "1997-09-30", "--period", "week", "--json")[0])
    assert report["customers"] == 2357 - 8
    netting = report["input"]["netting"]
    assert netting["zero_rows"] == 8 and netting["non_purchase_days"] == 8
    assert netting["customers_without_purchase"] == 8 and netting["without_purchase_amount"] == 0


RETURNS = ("c,d,a\n"
           "loyal,2024-01-01,100\nloyal,2024-01-05,-100\nloyal,2024-01-09,-100\n"  # one purchase, two returns
           "free,2024-01-01,0\nfree,2024-01-03,0\nfree,2024-01-06,0\nfree,2024-01-09,0\n"  # four zero rows
           "refund,2024-01-04,-50\n"  # a refund only
           "net,2024-01-02,100\nnet,2024-01-02,-30\n"  # bought 100 and returned 30 the same day
           "later,2024-01-01,40\nlater,2024-01-06,60\nlater,2024-01-08,-20\n")


def test_returns_and_zero_amounts_are_netted_and_reported(tmp_path):
    path = write(tmp_path, RETURNS)
    report = json.loads(analyze(path, "--customer", "c", "--date", "d", "--amount", "a", "--json",
                                "--out", tmp_path / "out.csv")[0])
    assert report["customers"] == 3  # loyal, net, later; free and refund never bought
    assert report["input"]["transactions"] == 1 + 1 + 2
    assert report["input"]["netting"] == {
        "rows": 13, "return_rows": 5, "returned_amount": 300.0, "zero_rows": 4,
        "non_purchase_days": 2 + 4 + 1 + 1, "customers_without_purchase": 2, "without_purchase_amount": -50.0}
    with (tmp_path / "out.csv").open(encoding="utf-8") as handle:
        rows = {row["customer"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"loyal", "net", "later"}
    assert (rows["loyal"]["transactions"], rows["loyal"]["frequency"], rows["loyal"]["revenue"]) == ("1", "0", "-100.0")
    assert (rows["net"]["transactions"], rows["net"]["revenue"]) == ("1", "70.0")
    # later: purchases on the 1st and 6th, a return on the 8th: frequency 1, mean repeat value 60 - 20.
    assert (rows["later"]["frequency"], rows["later"]["last_purchase"], rows["later"]["revenue"],
            rows["later"]["monetary"]) == ("1", "2024-01-06", "80.0", "40.0")

    text = analyze(path, "--customer", "c", "--date", "d", "--amount", "a")[0]
    assert ("Returns and zero amounts: 13 rows up to the as-of date, 5 returns (300.00 returned), 4 zero amounts; "
            "8 customer-days netted to zero or less and are not purchases; 2 customers without a purchase left out "
            "(net -50.00).") in text
    assert "Customers: 3 " in text


def test_a_file_of_returns_only_has_no_purchases(tmp_path):
    path = write(tmp_path, "c,d,a\n1,2024-01-01,-5\n2,2024-01-03,-7.5\n")
    with pytest.raises(CommandError, match=r"No purchases on or before 2024-01-03: 2 rows .* 2 returns \(12.50 "
                                           r"returned\).* 2 customers without a purchase left out \(net -12.50\)"):
        analyze(path, "--customer", "c", "--date", "d", "--amount", "a")
