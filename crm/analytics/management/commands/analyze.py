"""Customer value analysis of a transactions file, without importing it and without a database.

    crm analyze orders.csv --customer 客户编号 --date 日期 --amount 金额 --cost 成本 --period week \\
        --as-of 2024-12-31 --out customers.csv --json

Prints RFM segments and score distributions, value tiers with the 80/20 figure and the Gini coefficient,
and the fitted BG/NBD and Gamma-Gamma parameters; writes one row per customer to ``--out``.  The
methods are described in docs/analytics.md.
"""

import codecs
import csv
import io
import json
import math
import re
import sys

import numpy as np
from charset_normalizer import from_bytes
from django.core.management.base import BaseCommand, CommandError

from crm.analytics.stats import analysis, identify, quality, rfm, summary, value

DATE_RE = re.compile(r"^\s*(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|(\d{2})(\d{2}))(?:[ T].*)?\s*$")
CURRENCY = str.maketrans("", "", ",¥￥$€£ \u00a0")
MAX_LISTED = 20
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
CHINESE = {"gb2312", "gbk", "gb18030", "hz"}  # codecs.lookup names; gb18030 decodes all of them
TABS = {"\\t", "tab", "TAB"}
LORENZ_POINTS = 21


class BadRows(Exception):
    pass


def parse_date(text):
    """Days since the epoch from 'YYYY-MM-DD', 'YYYY/MM/DD', 'YYYY.MM.DD' or 'YYYYMMDD' (a time part is
    ignored); ``None`` when it is not a date."""
    match = DATE_RE.match(text)
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(3) or match.group(5))
    day = int(match.group(4) or match.group(6))
    if not 1 <= month <= 12 or day < 1:
        return None
    start = np.datetime64(f"{year:04d}-{month:02d}", "M")
    if day > ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(int):
        return None
    return int(start.astype("datetime64[D]").astype(np.int64)) + day - 1


def parse_amount(text):
    """A number, allowing thousands separators and a currency sign; ``None`` when it is not one."""
    cleaned = text.strip().translate(CURRENCY)
    if not cleaned:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def day_to_iso(day):
    return str(np.datetime64(int(day), "D"))


def detect_encoding(data):
    """The encoding of ``data`` and how it was found: ``(codec name, "bom" | "utf-8" | "detected")``.

    A UTF-16 (little or big endian) or UTF-8 byte-order mark wins; else UTF-8 when every byte decodes as
    UTF-8; else charset-normalizer's guess.  When any of its candidates is a Chinese GB encoding the answer
    is gb18030, which decodes GB2312 and GBK text too: short Chinese files are often scored as Korean
    (cp949) or Japanese by the detector, and decoding GBK as GBK fails on a GB18030-only character.
    ``None`` when nothing fits (binary data).
    """
    for bom, name in BOMS:
        if data.startswith(bom):
            return name, "bom"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", "utf-8"
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    if any(codecs.lookup(m.encoding).name in CHINESE for m in matches):
        return "gb18030", "detected"
    return codecs.lookup(best.encoding).name, "detected"


def read_text(path, encoding=None):
    """The whole file as text, with the encoding used and how it was chosen (``"option"`` for ``encoding``)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CommandError(f"Cannot open {path}: {exc.strerror}.") from exc
    source = "option"
    if encoding is None:
        found = detect_encoding(data)
        if found is None:
            raise CommandError(f"Cannot tell the text encoding of {path}; name it with --encoding "
                               "(for example --encoding gb18030).")
        encoding, source = found
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not {encoding} text ({exc.reason} at byte {exc.start}); name the "
                           "file's encoding with --encoding.") from exc
    return text.removeprefix("\ufeff"), encoding, source


def read_transactions(path, *, customer, date, amount, cost=None, delimiter=",", encoding=None):
    """Parse the file; return the arrays, the list of bad rows as ``(line, reason)`` and the encoding
    used as ``{"name": …, "source": …}``."""
    text, encoding, source = read_text(path, encoding)
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise CommandError(f"{path} is empty.") from None
        except csv.Error as exc:
            raise CommandError(f"{path}, line {reader.line_num}: {exc}.") from exc
        names = [h.strip() for h in header]
        wanted = {"--customer": customer, "--date": date, "--amount": amount}
        if cost:
            wanted["--cost"] = cost
        index, missing = {}, []
        for option, name in wanted.items():
            found = _find_column(names, name)
            if found is None:
                missing.append(f"{option} {name!r}")
            else:
                index[option] = found
        if missing:
            raise CommandError(f"Column not found in {path}: {', '.join(missing)}. "
                               f"The header has: {', '.join(repr(n) for n in names)}.")
        ci, di, ai = index["--customer"], index["--date"], index["--amount"]
        ki = index.get("--cost")
        need = max(index.values()) + 1
        ids, days, amounts, costs, bad = [], [], [], [], []
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue  # blank lines are not data
                if len(row) < need:
                    bad.append((line, f"{len(row)} fields, expected at least {need}"))
                    continue
                reasons = []
                cust = row[ci].strip()
                if not cust:
                    reasons.append("empty customer")
                d = parse_date(row[di])
                if d is None:
                    reasons.append(f"bad date {row[di]!r}")
                a = parse_amount(row[ai])
                if a is None:
                    reasons.append(f"bad amount {row[ai]!r}")
                k = 0.0
                if ki is not None:
                    k = parse_amount(row[ki])
                    if k is None:
                        reasons.append(f"bad cost {row[ki]!r}")
                if reasons:
                    bad.append((line, "; ".join(reasons)))
                    continue
                ids.append(cust)
                days.append(d)
                amounts.append(a)
                costs.append(k)
        except csv.Error as exc:
            raise CommandError(f"{path}, line {reader.line_num}: {exc}.") from exc
    return (np.array(ids, dtype=str), np.array(days, dtype=np.int64), np.array(amounts, dtype=np.float64),
            np.array(costs, dtype=np.float64) if ki is not None else None, bad, {"name": encoding, "source": source})


def _find_column(names, name):
    if name in names:
        return names.index(name)
    folded = [n.casefold() for n in names]
    return folded.index(name.strip().casefold()) if name.strip().casefold() in folded else None


def _num(v, digits=6):
    """JSON-safe float: NaN and infinities become null."""
    if v is None:
        return None
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


class Command(BaseCommand):
    help = ("Analyse a transactions CSV file: RFM segments, value tiers and 80/20, BG/NBD and Gamma-Gamma "
            "fits, lifetime value; no database needed.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row; its encoding is detected (UTF-8, UTF-16, "
                                         "GB18030/GBK …) unless --encoding names it.")
        parser.add_argument("--encoding", help="Text encoding of the file, any Python codec name (utf-8, gbk, "
                                               "gb18030, utf-16 …). Default: detected.")
        parser.add_argument("--customer", required=True, help="Column with the customer id.")
        parser.add_argument("--date", required=True, help="Column with the purchase date (YYYY-MM-DD, YYYYMMDD …).")
        parser.add_argument("--amount", required=True, help="Column with the amount of the purchase.")
        parser.add_argument("--cost", help="Column with the cost of the purchase (tiers then use gross profit).")
        parser.add_argument("--as-of", help="Analysis date (default: the latest date in the file); later rows "
                                            "are ignored.")
        parser.add_argument("--period", choices=["day", "week"], default="week",
                            help="Time unit of the models (alpha is in this unit). Default: week.")
        parser.add_argument("--out", help="Write one row per customer to this CSV file.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument("--skip-bad", action="store_true",
                            help="Skip rows that cannot be read (and report them) instead of stopping.")
        parser.add_argument("--delimiter", default=",",
                            help="Field delimiter (default ','); '\\t' or 'tab' for tab-separated text.")
        parser.add_argument("--horizon", type=float, help="Lifetime value horizon in periods (default: one year).")
        parser.add_argument("--discount-rate", type=float, default=0.10,
                            help="Annual discount rate for lifetime value (default 0.10).")
        parser.add_argument("--margin", type=float,
                            help="Margin factor for lifetime value: 1 = revenue (default without --cost); with "
                                 "--cost the default is the file's gross margin rate.")
        parser.add_argument("--count-zero-days", action="store_true",
                            help="Count a day whose rows are all zero amounts (free goods) as a purchase. By "
                                 "default only a day whose net amount is above zero is a purchase.")
        parser.add_argument("--model", choices=["auto", "mbgnbd", "bgnbd"], default="auto",
                            help="Purchase model: MBG/NBD (one-time buyers may have lapsed) or BG/NBD. Default "
                                 "auto: the one the backtest ranks better with --backtest-split, else MBG/NBD.")
        parser.add_argument("--backtest-split", help="Backtest every prediction: fit on the rows up to this date "
                                                     "and compare with what happened after it, up to --as-of.")
        parser.add_argument("--high", type=float, default=0.80, help="Tier threshold of high-value (default 0.80).")
        parser.add_argument("--general", type=float, default=0.95, help="Tier threshold of general (default 0.95).")

    def handle(self, *args, **opts):
        if opts["delimiter"] in TABS:
            opts["delimiter"] = "\t"
        if len(opts["delimiter"]) != 1:
            raise CommandError("--delimiter must be one character (or '\\t' for a tab).")
        if opts["encoding"]:
            try:
                opts["encoding"] = codecs.lookup(opts["encoding"]).name
                b"0".decode(opts["encoding"], "ignore")  # refuses codecs that are not text encodings (base64 …)
            except LookupError:
                raise CommandError(f"--encoding {opts['encoding']!r} is not a known text encoding.") from None
        if not 0 < opts["high"] <= opts["general"] <= 1:
            raise CommandError("Tier thresholds must satisfy 0 < --high <= --general <= 1.")
        ids, days, amounts, costs, bad, encoding = read_transactions(
            opts["file"], customer=opts["customer"], date=opts["date"], amount=opts["amount"], cost=opts["cost"],
            delimiter=opts["delimiter"], encoding=opts["encoding"])
        if bad and not opts["skip_bad"]:
            raise CommandError(_bad_rows_message(opts["file"], bad) + " Fix them, or pass --skip-bad to skip them.")
        if bad:
            self.stderr.write(_bad_rows_message(opts["file"], bad) + " Skipped.")
        if len(ids) == 0:
            raise CommandError(f"{opts['file']} has no transactions to analyse.")
        as_of = int(days.max())
        if opts["as_of"]:
            as_of = parse_date(opts["as_of"])
            if as_of is None:
                raise CommandError(f"--as-of {opts['as_of']!r} is not a date (use YYYY-MM-DD).")
        s = summary.summarize(ids, days, amounts, costs, as_of=as_of, period=opts["period"],
                              count_zero_days=opts["count_zero_days"])
        if s.n == 0 and s.report["rows"]:
            raise CommandError(f"No purchases on or before {day_to_iso(as_of)}: {_netting_sentence(s.report)}.")
        if s.n == 0:
            raise CommandError(f"No transactions on or before {day_to_iso(as_of)}.")
        margin = opts["margin"]
        if margin is None:
            margin = 1.0
            if costs is not None and s.revenue.sum() > 0:
                margin = float(s.gross_profit.sum() / s.revenue.sum())
        checked = None
        if opts["backtest_split"]:
            split_day = parse_date(opts["backtest_split"])
            if split_day is None or split_day >= as_of:
                raise CommandError(f"--backtest-split {opts['backtest_split']!r} must be a date before the as-of "
                                   f"date {day_to_iso(as_of)}.")
            checked = quality.run(quality.split_transactions(ids, days, amounts, split=split_day, as_of=as_of,
                                                             period=opts["period"]))
            checked["split"] = day_to_iso(split_day)
        model, timing = opts["model"], "rhythm"
        if model == "auto":
            model = ((checked or {}).get("churn") or {}).get("model") or quality.DEFAULT_MODEL
        if checked and checked.get("timing"):
            timing = checked["timing"]["chosen"]
        result = analysis.analyze(s, horizon=opts["horizon"], annual_discount_rate=opts["discount_rate"],
                                  margin=margin, thresholds=(opts["high"], opts["general"]), model=model,
                                  timing=timing)
        report = build_report(result, rows=len(ids) + len(bad), bad=bad, has_cost=costs is not None,
                              encoding=encoding)
        report["backtest"] = checked
        if opts["out"]:
            write_customers(opts["out"], result)
            report["out"] = opts["out"]
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render_text(report))


def _bad_rows_message(path, bad):
    listed = "; ".join(f"line {line}: {reason}" for line, reason in bad[:MAX_LISTED])
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return f"{path}: {len(bad)} row(s) cannot be read — {listed}{more}."


def _netting_sentence(netting):
    """What netting returns and zero amounts did, in one sentence (without the final full stop)."""
    return (f"{netting['rows']} rows up to the as-of date, {netting['return_rows']} returns "
            f"({netting['returned_amount']:,.2f} returned), {netting['zero_rows']} zero amounts; "
            f"{netting['non_purchase_days']} customer-days netted to zero or less and are not purchases; "
            f"{netting['customers_without_purchase']} customers without a purchase left out "
            f"(net {netting['without_purchase_amount']:,.2f})")


MODEL_LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD"}
TIMING_LABELS = {"rhythm": "own rhythm", "model": "model's median wait", "median_gap": "company median gap"}


def _f(value, spec):
    return "—" if value is None else format(value, spec)


def render_backtest(bt):
    """The backtest in a few lines (see docs/analytics.md, "How good are these predictions?")."""
    head = (f"Backtest (split {bt['split']}, holdout {bt['horizon_periods']:g} periods, "
            f"{bt['customers']} customers):")
    if bt.get("error"):
        return [head, f"  not possible: {identify.message(bt['error'])}"]
    churn, timing = bt["churn"], bt["timing"]
    models = ", ".join(f"{MODEL_LABELS[m['model']]} {_f(m['auc'], '.3f')}"
                       + (f" (refused: {identify.message(m['refusal'])})" if m.get("refusal") else "")
                       for m in churn["models"])
    if churn["winner"] == "model":
        verdict = f"the model wins; at risk below P(alive) {_f(churn['threshold'], '.3f')}"
    else:
        verdict = f"the recency rule wins; at risk after {_f(churn['baseline_threshold_days'], '.0f')} days"
    lines = [head, f"  churn, AUC of P(alive): {models}; recency rule {_f(churn['baseline_auc'], '.3f')} — {verdict}"]
    errors = ", ".join(f"{TIMING_LABELS[m['key']]} {_f(m['mae_days'], '.1f')}" for m in timing["methods"])
    lines.append(f"  next purchase, mean error in days over {timing['methods'][0]['customers']} repeat buyers: "
                 f"{errors} — uses {TIMING_LABELS[timing['chosen']]}")
    for key, name in (("purchases", "purchases"), ("value", "value")):
        part = bt.get(key)
        if part:
            lines.append(f"  {name} in the holdout: predicted {_f(part['total_predicted'], ',.0f')}, naive "
                         f"{_f(part['total_baseline'], ',.0f')}, actual {_f(part['total_actual'], ',.0f')} "
                         f"(mean error per customer {_f(part['mae'], '.2f')} vs {_f(part['baseline_mae'], '.2f')})")
    return lines


def build_report(result, *, rows, bad, has_cost, encoding=None):
    s = result.summary
    table = result.segment_table
    profit = s.gross_profit
    basis = "gross_profit" if has_cost else "revenue"
    share80 = value.customers_for_share(profit, 0.80)
    tiers = value.tier_summary(profit, result.tier)
    lorenz_x, lorenz_y = value.lorenz_curve(profit, points=LORENZ_POINTS)
    basis_words = "gross profit" if has_cost else "revenue"
    report = {
        "as_of": day_to_iso(s.as_of_day),
        "period": s.period,
        "input": {
            "encoding": encoding,
            "rows": rows,
            "skipped_rows": len(bad),
            "skipped": [{"line": line, "reason": reason} for line, reason in bad[:100]],
            "transactions": int(s.transactions.sum()),
            "netting": {key: _num(v, 4) if isinstance(v, float) else v for key, v in s.report.items()},
        },
        "customers": s.n,
        "rfm": {
            "recency": "days since the last purchase",
            "frequency": "number of purchase days",
            "monetary": "total amount",
            "segments": rfm.segment_counts(result.segment, table),
            "segment_labels": {key: label for key, label, _cells in table},
            "scores": {"R": rfm.score_distribution(result.r_score), "F": rfm.score_distribution(result.f_score),
                       "M": rfm.score_distribution(result.m_score)},
            "grid": {"rows": "R = 1 … 5", "columns": "F = 1 … 5",
                     "counts": rfm.grid_counts(result.r_score, result.f_score).tolist()},
        },
        "tiers": {
            "basis": basis,
            "thresholds": list(result.thresholds),
            "counts": tiers.counts,
            "customer_shares": {k: _num(v) for k, v in tiers.customer_shares.items()},
            "profit_shares": {k: _num(v) for k, v in tiers.profit_shares.items()},
            "customers_for_80_percent": _num(share80),
            "sentence": (f"{share80 * 100:.1f}% of customers bring 80% of {basis_words}" if share80 is not None
                         else f"no customer has a positive {basis_words}"),
            "gini": _num(value.gini(profit)),
            "loss_making_customers": value.loss_making(profit),
            "lorenz": {"customer_share": [_num(v, 4) for v in lorenz_x],
                       "profit_share": [_num(v, 4) for v in lorenz_y]},
        },
        "bgnbd": None,
        "gamma_gamma": None,
        "clv": None,
        "errors": result.errors,
        "refusals": result.refusals,
        "timing": {"method": result.timing, "median_gap_periods": _num(result.median_gap)},
    }
    if result.bgnbd is not None:
        fit = result.bgnbd
        report["bgnbd"] = {"model": result.model, **{k: _num(v) for k, v in fit.params.as_dict().items()},
                           "log_likelihood": _num(fit.log_likelihood, 4),
                           "std_errors": {k: _num(v) for k, v in fit.std_errors.items()},
                           "customers": int(fit.customers), "distinct_rows": fit.rows,
                           "converged": fit.converged,
                           "mean_p_alive": _num(result.p_alive.mean())}
    if result.gamma_gamma is not None:
        gg = result.gamma_gamma
        report["gamma_gamma"] = {**{k: _num(v) for k, v in gg.params.as_dict().items()},
                                 "log_likelihood": _num(gg.log_likelihood, 4),
                                 "std_errors": {k: _num(v) for k, v in gg.std_errors.items()},
                                 "customers": int(gg.customers), "converged": gg.converged,
                                 "mean_spend": _num(gg.params.mean_spend),
                                 "frequency_spend_correlation": _num(
                                     analysis.spend_frequency_correlation(s.frequency, s.monetary))}
    if result.clv is not None:
        report["clv"] = {"horizon_periods": result.horizon, "discount_rate_per_period": _num(result.discount_rate, 8),
                         "margin": _num(result.margin), "basis": "margin" if result.margin != 1 else "revenue",
                         "total": _num(result.clv.sum(), 2), "mean": _num(result.clv.mean(), 4)}
    return report


COLUMNS = ["customer", "first_purchase", "last_purchase", "transactions", "frequency", "recency", "T", "monetary",
           "revenue", "gross_profit", "R", "F", "M", "segment", "tier", "p_alive", "expected_purchases_next_period",
           "expected_purchases_horizon", "expected_spend", "clv", "next_purchase_date"]


def write_customers(path, result):
    s = result.summary
    n = s.n
    blank = [""] * n

    def col(values, digits):
        if values is None:
            return blank
        rounded = np.round(np.asarray(values, dtype=np.float64), digits)
        return ["" if not math.isfinite(v) else v for v in rounded.tolist()]

    keys = [key for key, _label, _cells in result.segment_table]
    seg = np.array(keys, dtype=object)[result.segment].tolist()
    tier = np.array(value.TIER_KEYS, dtype=object)[result.tier].tolist()
    first = s.first_day.astype("datetime64[D]").astype(str).tolist()
    last = s.last_day.astype("datetime64[D]").astype(str).tolist()
    if result.next_purchase is not None:
        offset = np.round(result.next_purchase * s.period_days)
        ok = np.isfinite(offset)
        dates = np.full(n, "", dtype=object)
        dates[ok] = (s.as_of_day + offset[ok].astype(np.int64)).astype("datetime64[D]").astype(str)
        next_dates = dates.tolist()
    else:
        next_dates = blank
    columns = [s.customer.tolist(), first, last, s.transactions.tolist(), s.frequency.tolist(),
               col(s.recency, 4), col(s.T, 4), col(s.monetary, 4), col(s.revenue, 4), col(s.gross_profit, 4),
               result.r_score.tolist(), result.f_score.tolist(), result.m_score.tolist(), seg, tier,
               col(result.p_alive, 6), col(result.expected_next_period, 6), col(result.expected_horizon, 6),
               col(result.expected_spend, 4), col(result.clv, 4), next_dates]
    try:
        handle = sys.stdout if path == "-" else open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
    try:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(zip(*columns, strict=True))
    finally:
        if handle is not sys.stdout:
            handle.close()


def render_text(report):
    lines = [f"Customers: {report['customers']} (as of {report['as_of']}, period {report['period']}; "
             f"{report['input']['transactions']} transactions from {report['input']['rows']} rows"
             + (f", {report['input']['skipped_rows']} skipped" if report["input"]["skipped_rows"] else "") + ")"]
    if report["input"]["encoding"]:
        how = {"bom": "from its byte-order mark", "utf-8": "valid UTF-8", "detected": "detected",
               "option": "as given by --encoding"}
        enc = report["input"]["encoding"]
        lines.append(f"Encoding: {enc['name']} ({how[enc['source']]}).")
    lines.append(f"Returns and zero amounts: {_netting_sentence(report['input']['netting'])}.")
    lines.append("")
    lines.append("RFM segments:")
    labels = report["rfm"]["segment_labels"]
    n = max(report["customers"], 1)
    for key, count in report["rfm"]["segments"].items():
        lines.append(f"  {labels[key]:<20} {count:>9}  {count / n:6.1%}")
    t = report["tiers"]
    lines.append("")
    lines.append(f"Value tiers (by {t['basis'].replace('_', ' ')}, thresholds {t['thresholds'][0]:.0%} / "
                 f"{t['thresholds'][1]:.0%}):")
    basis = t["basis"].replace("_", " ")
    for key in value.TIER_KEYS:
        lines.append(f"  {key.replace('_', '-'):<12} {t['counts'][key]:>9} customers  "
                     f"{t['customer_shares'][key]:6.1%} of customers  {t['profit_shares'][key]:6.1%} of {basis}")
    lines.append(f"  {t['sentence']}; Gini {t['gini']:.3f}")
    lines.append("")
    b = report["bgnbd"]
    if b:
        lines.append(f"{MODEL_LABELS[b['model']]}: r {b['r']:.4f}  alpha {b['alpha']:.4f}  a {b['a']:.4f}  "
                     f"b {b['b']:.4f}  "
                     f"log-likelihood {b['log_likelihood']:.2f}  (mean P(alive) {b['mean_p_alive']:.3f})")
    g = report["gamma_gamma"]
    if g:
        lines.append(f"Gamma-Gamma: p {g['p']:.4f}  q {g['q']:.4f}  gamma {g['gamma']:.4f}  "
                     f"log-likelihood {g['log_likelihood']:.2f}  ({g['customers']} repeat customers)")
    c = report["clv"]
    if c:
        lines.append(f"Lifetime value over {c['horizon_periods']:g} {report['period']}s ({c['basis']}): "
                     f"total {c['total']:,.2f}, mean {c['mean']:,.2f}")
    for model, message in report["errors"].items():
        lines.append(f"{model}: {message}")
    if report.get("backtest"):
        lines.append("")
        lines.extend(render_backtest(report["backtest"]))
    if report.get("out"):
        lines.append(f"Per-customer results written to {report['out']}.")
    return "\n".join(lines)
