"""Writing a snapshot's rows: the ``CustomerMetrics`` columns, COPY through a staging table on PostgreSQL,
large ``executemany`` batches elsewhere, and deleting a snapshot's rows."""


import numpy as np
from django.db import connection, transaction

from .. import scoring
from ..models import CustomerMetrics

WRITE_BATCH = 20_000


METRIC_COLUMNS = (
    "snapshot_id", "customer_id", "first_purchase", "last_purchase", "transactions", "frequency", "recency", "age",
    "days_since_last", "revenue", "gross_profit", "avg_order_value", "promo_share", "r_score", "f_score", "m_score",
    "segment", "tier", "profit_rank_share", "value_class", "share_of_wallet", "cost_to_serve", "p_alive", "at_risk",
    "expected_purchases", "expected_purchases_horizon", "expected_spend", "clv", "next_purchase_on", "loyalty",
    "loyalty_components", "recommended_level",
)
COMPONENTS_JSON = ('{"repeat": %.4f, "regularity": %.4f, "share_of_wallet": %.4f, "price_insensitivity": %.4f, '
                   '"tenure": %.4f, "interactions": %d, "wallet_estimated": %s}')


def _dates(days):
    """Day numbers as ISO date strings, NaN as None."""
    days = np.asarray(days, dtype=np.float64)
    ok = np.isfinite(days)
    out = np.full(len(days), None, dtype=object)
    out[ok] = np.datetime_as_string(days[ok].astype(np.int64).astype("datetime64[D]"))
    return out


def _nullable(values, digits=None):
    values = np.asarray(values, dtype=np.float64)
    if digits is not None:
        values = np.round(values, digits)
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out


def metric_columns(snapshot_id, result, part=slice(None)):
    """The columns of the ``CustomerMetrics`` rows ``part`` (a slice), in :data:`METRIC_COLUMNS` order, as
    numpy arrays of Python-ready values."""
    c = {k: v[part] for k, v in result.columns.items() if k != "components"}
    comp = {k: v[part] for k, v in result.columns["components"].items()}
    n = len(c["customer"])
    components = np.array([COMPONENTS_JSON % row for row in zip(
        np.round(comp["repeat"], 4).tolist(), np.round(comp["regularity"], 4).tolist(),
        np.round(comp["share_of_wallet"], 4).tolist(), np.round(comp["price_insensitivity"], 4).tolist(),
        np.round(comp["tenure"], 4).tolist(), c["interactions"].astype(np.int64).tolist(),
        np.where(c["wallet_estimated"], "true", "false").tolist(), strict=True)], dtype=object)
    return [
        np.full(n, snapshot_id, dtype=np.int64), c["customer"], _dates(c["first_day"]), _dates(c["last_day"]),
        c["transactions"], c["frequency"], np.round(c["recency"], 6), np.round(c["age"], 6), c["days_since_last"],
        np.round(c["revenue"], 2), np.round(c["gross_profit"], 2), np.round(c["avg_order_value"], 2),
        np.round(c["promo_share"], 6), c["r_score"].astype(np.int64), c["f_score"].astype(np.int64),
        c["m_score"].astype(np.int64), c["segment"], np.array(scoring.TIER_KEYS, dtype=object)[c["tier_code"]],
        np.round(c["profit_rank_share"], 6), np.array(scoring.CLASS_KEYS, dtype=object)[c["value_class_code"]],
        np.round(c["share_of_wallet"], 6), np.round(c["cost_to_serve"], 2), _nullable(c["p_alive"]),
        c["at_risk"].astype(bool), _nullable(c["expected_purchases"]), _nullable(c["expected_purchases_horizon"]),
        _nullable(c["expected_spend"], 2), _nullable(c["clv"], 2), _dates(c["next_purchase_day"]),
        np.round(c["loyalty"], 2), components, c["recommended_level"],
    ]


def write_metrics(snapshot_id, result):
    """Write one row per customer in bulk.  PostgreSQL: the numpy columns go as a binary ``COPY`` into a
    temporary staging table (every column fixed-width, so the buffer is built by numpy, not row by row),
    then one ``INSERT … SELECT`` turns codes into labels, day numbers into dates and the loyalty
    components into JSON on the server.  Elsewhere: ``executemany`` in batches built from the columns."""
    if connection.vendor == "postgresql":
        _write_postgres(snapshot_id, result)
        return
    table = CustomerMetrics._meta.db_table
    names = ", ".join(METRIC_COLUMNS)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(METRIC_COLUMNS))})"
    with transaction.atomic(), connection.cursor() as cursor:
        for rows in _row_batches(snapshot_id, result):
            cursor.executemany(sql, rows)


NO_DAY = -(2**31)  # a missing date in the staging table


def _staging_columns(result):
    """``(name, numpy big-endian dtype, PostgreSQL type, values)`` of the staging table."""
    c = result.columns
    comp = c["components"]
    sorted_keys, segment_code = _factorize(c["segment"])
    level_sorted, level_code = _factorize(c["recommended_level"])
    next_day = np.where(np.isfinite(c["next_purchase_day"]), np.nan_to_num(c["next_purchase_day"]), NO_DAY)
    i4, i8, f8, i2, b1 = (">i4", "integer"), (">i8", "bigint"), (">f8", "double precision"), (">i2", "smallint"), \
        ("u1", "boolean")
    cols = [
        ("customer_id", *i8, c["customer"]), ("first_day", *i4, c["first_day"]), ("last_day", *i4, c["last_day"]),
        ("transactions", *i4, c["transactions"]), ("frequency", *i4, c["frequency"]), ("recency", *f8, c["recency"]),
        ("age", *f8, c["age"]), ("days_since_last", *i4, c["days_since_last"]), ("revenue", *f8, c["revenue"]),
        ("gross_profit", *f8, c["gross_profit"]), ("avg_order_value", *f8, c["avg_order_value"]),
        ("promo_share", *f8, c["promo_share"]), ("r_score", *i2, c["r_score"]), ("f_score", *i2, c["f_score"]),
        ("m_score", *i2, c["m_score"]), ("segment", *i2, segment_code), ("tier", *i2, c["tier_code"]),
        ("profit_rank_share", *f8, c["profit_rank_share"]), ("value_class", *i2, c["value_class_code"]),
        ("share_of_wallet", *f8, c["share_of_wallet"]), ("cost_to_serve", *f8, c["cost_to_serve"]),
        ("p_alive", *f8, c["p_alive"]), ("at_risk", *b1, c["at_risk"]),
        ("expected_purchases", *f8, c["expected_purchases"]),
        ("expected_purchases_horizon", *f8, c["expected_purchases_horizon"]),
        ("expected_spend", *f8, c["expected_spend"]), ("clv", *f8, c["clv"]), ("next_day", *i4, next_day),
        ("loyalty", *f8, c["loyalty"]), ("c_repeat", *f8, comp["repeat"]), ("c_regularity", *f8, comp["regularity"]),
        ("c_wallet", *f8, comp["share_of_wallet"]), ("c_price", *f8, comp["price_insensitivity"]),
        ("c_tenure", *f8, comp["tenure"]), ("c_interactions", *i4, c["interactions"]),
        ("c_estimated", *b1, c["wallet_estimated"]), ("level", *i2, level_code),
    ]
    return cols, sorted_keys, level_sorted


def _factorize(values):
    """``(sorted distinct strings, code of each value)`` without a per-row loop."""
    if not len(values):
        return [], np.zeros(0, dtype=np.int64)
    keys, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return keys.tolist(), codes.reshape(-1)


def _write_postgres(snapshot_id, result):
    cols, segment_keys, level_keys = _staging_columns(result)
    row = np.dtype([("fields", ">i2")] + [item for name, dtype, _pg, _v in cols
                                          for item in ((f"{name}_len", ">i4"), (name, dtype))])
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    stage = "analytics_metrics_stage"
    nullable = {"promo_share", "p_alive", "expected_purchases", "expected_purchases_horizon", "expected_spend", "clv"}

    def value(name):
        return f"NULLIF(s.{name}, 'NaN'::float8)" if name in nullable else f"s.{name}"

    def rounded(name, digits):
        return f"round(s.{name}::numeric, {digits})"

    tier_keys = list(scoring.TIER_KEYS)
    class_keys = list(scoring.CLASS_KEYS)
    select = {
        "snapshot_id": "%s", "customer_id": "s.customer_id", "first_purchase": "DATE '1970-01-01' + s.first_day",
        "last_purchase": "DATE '1970-01-01' + s.last_day", "transactions": "s.transactions",
        "frequency": "s.frequency", "recency": "s.recency", "age": "s.age", "days_since_last": "s.days_since_last",
        "revenue": rounded("revenue", 2), "gross_profit": rounded("gross_profit", 2),
        "avg_order_value": rounded("avg_order_value", 2), "promo_share": value("promo_share"),
        "r_score": "s.r_score", "f_score": "s.f_score", "m_score": "s.m_score",
        "segment": "(%s::text[])[s.segment + 1]", "tier": "(%s::text[])[s.tier + 1]",
        "profit_rank_share": "s.profit_rank_share", "value_class": "(%s::text[])[s.value_class + 1]",
        "share_of_wallet": "s.share_of_wallet", "cost_to_serve": rounded("cost_to_serve", 2),
        "p_alive": value("p_alive"), "at_risk": "s.at_risk", "expected_purchases": value("expected_purchases"),
        "expected_purchases_horizon": value("expected_purchases_horizon"),
        "expected_spend": f"round({value('expected_spend')}::numeric, 2)",
        "clv": f"round({value('clv')}::numeric, 2)",
        "next_purchase_on": f"CASE WHEN s.next_day = {NO_DAY} THEN NULL ELSE DATE '1970-01-01' + s.next_day END",
        "loyalty": "round(s.loyalty::numeric, 2)",
        "loyalty_components": (
            "jsonb_build_object('repeat', round(s.c_repeat::numeric, 4),"
            " 'regularity', round(s.c_regularity::numeric, 4), 'share_of_wallet', round(s.c_wallet::numeric, 4),"
            " 'price_insensitivity', round(s.c_price::numeric, 4),"
            " 'tenure', round(s.c_tenure::numeric, 4), 'interactions', s.c_interactions,"
            " 'wallet_estimated', s.c_estimated)"),
        "recommended_level": "(%s::text[])[s.level + 1]",
    }
    assert tuple(select) == METRIC_COLUMNS
    insert = (f"INSERT INTO {CustomerMetrics._meta.db_table} ({', '.join(METRIC_COLUMNS)}) "
              f"SELECT {', '.join(select.values())} FROM {stage} s")
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped explicitly too: inside an outer transaction (tests, a caller's atomic block) the
        # block above is a savepoint and ON COMMIT DROP would leave the table for the next write.
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ("
                       + ", ".join(f"{name} {pg}" for name, _dtype, pg, _v in cols) + ") ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {stage} FROM STDIN (FORMAT binary)") as copy:
            copy.write(header)
            for start in range(0, result.n, WRITE_BATCH * 5):
                part = slice(start, min(start + WRITE_BATCH * 5, result.n))
                buf = np.zeros(part.stop - part.start, dtype=row)
                buf["fields"] = len(cols)
                for name, dtype, _pg, values in cols:
                    buf[f"{name}_len"] = np.dtype(dtype).itemsize
                    buf[name] = values[part]
                copy.write(buf.tobytes())
            copy.write((-1).to_bytes(2, "big", signed=True))
        cursor.execute(insert, [snapshot_id, segment_keys, tier_keys, class_keys, level_keys])
        cursor.execute(f"DROP TABLE {stage}")


def _row_batches(snapshot_id, result, size=WRITE_BATCH):
    """Rows of ``size`` customers at a time, built from that slice of the columns only."""
    for start in range(0, result.n, size):
        columns = metric_columns(snapshot_id, result, slice(start, start + size))
        yield list(zip(*(col.tolist() for col in columns), strict=True))


def delete_snapshot_metrics(snapshot_ids):
    """Delete the metrics rows of these snapshots in one statement (no per-row delete signals)."""
    if not snapshot_ids:
        return
    marks = ", ".join(["%s"] * len(snapshot_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CustomerMetrics._meta.db_table} WHERE snapshot_id IN ({marks})",
                       list(snapshot_ids))
