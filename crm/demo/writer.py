"""Fast row writers for demo and scale data, and a plain progress line on stderr.

Rows are tuples of Python values in the order of the given field names, with explicit primary keys
so that related rows (contacts, tags) can point at them without a round trip.  PostgreSQL gets
``COPY … FROM STDIN`` through psycopg; other databases get one prepared ``INSERT`` run with
``executemany``.  Neither runs model ``save()`` nor signals: callers compute derived fields
(pinyin keys, paths) themselves.
"""

import datetime
import json
import sys
import time

import numpy as np
from django.db import connection, models
from django.utils import timezone


def _converter(field, vendor):
    """How a Python value becomes a database value for ``executemany`` on ``vendor``."""
    if vendor == "postgresql":
        if isinstance(field, models.JSONField):
            return json.dumps
        return None
    if isinstance(field, models.DateTimeField):
        # Django stores aware datetimes in SQLite as naive UTC text.
        return lambda v: None if v is None else str(v.astimezone(datetime.UTC).replace(tzinfo=None))
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.BooleanField):
        return int
    return None


def _field(meta, name):
    """The model field stored in column ``name`` (``owner_id`` is the field ``owner``)."""
    for field in meta.concrete_fields:
        if field.attname == name:
            return field
    return meta.get_field(name)


class RowWriter:
    """Write tuples into ``model``'s table; ``fields`` are model field names (FKs as ``owner_id``)."""

    def __init__(self, model, fields):
        self.model = model
        meta = model._meta
        self.fields = [_field(meta, name) for name in fields]
        self.columns = [f.column for f in self.fields]
        self.vendor = connection.vendor
        self.converters = [_converter(f, self.vendor) for f in self.fields]
        qn = connection.ops.quote_name
        self.table = qn(meta.db_table)
        self.column_sql = ", ".join(qn(c) for c in self.columns)

    def _convert(self, rows):
        convs = [(i, c) for i, c in enumerate(self.converters) if c is not None]
        if not convs:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for i, conv in convs:
                if row[i] is not None:
                    row[i] = conv(row[i])
            out.append(row)
        return out

    def write(self, rows):
        if not rows:
            return 0
        connection.ensure_connection()
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {self.table} ({self.column_sql}) FROM STDIN") as copy:
                    for row in self._convert(rows):
                        copy.write_row(row)
            return len(rows)
        placeholders = ", ".join(["%s"] * len(self.columns))
        sql = f"INSERT INTO {self.table} ({self.column_sql}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            cursor.executemany(sql, self._convert(rows))
        return len(rows)


def next_ids(model, count):
    """``count`` fresh primary keys after the current maximum (the caller writes them explicitly)."""
    start = (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1
    return range(start, start + count)


def reset_sequences(*models_):
    """After explicit ids: move PostgreSQL's identity sequences past them (SQLite tracks them itself)."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Progress:
    """``rows 120,000/1,000,000  12%  8,300 rows/s  ETA 1m46s`` on stderr, redrawn in place on a
    terminal and printed every few seconds otherwise (logs, CI)."""

    def __init__(self, total, *, label="rows", stream=None, every=5.0):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.done = 0
        self.started = self.last = time.monotonic()

    def _line(self):
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate else 0
        pct = 100 * self.done / self.total if self.total else 100
        return (f"{self.label} {self.done:,}/{self.total:,}  {pct:3.0f}%  {rate:,.0f} rows/s  "
                f"elapsed {_duration(elapsed)}  ETA {_duration(remaining)}")

    def advance(self, n):
        self.done += n
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self._line() + "\x1b[K")
            self.stream.flush()
        elif now - self.last >= self.every or self.done >= self.total:
            self.stream.write(self._line() + "\n")
            self.stream.flush()
            self.last = now

    def finish(self):
        if self.tty:
            self.stream.write("\n")
        return time.monotonic() - self.started


def _duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def aware(dt: datetime.datetime) -> datetime.datetime:
    return dt if timezone.is_aware(dt) else timezone.make_aware(dt)


# --- column-wise writing for generated history ------------------------------------------------------
class ColumnWriter(RowWriter):
    """Write columns that are already database-ready Python values (``str`` for dates and times, see
    :func:`datetime_texts`; ``float`` for money, whose shortest text is the exact two-decimal amount;
    ``None`` for NULL): no per-value conversion, rows are zipped from the columns as they stream."""

    def write_columns(self, columns):
        columns = [c.tolist() if hasattr(c, "tolist") else c for c in columns]
        if not columns or not len(columns[0]):
            return 0
        n = len(columns[0])
        connection.ensure_connection()
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({self.column_sql}) FROM STDIN") as copy:
                    write = copy.write_row
                    for row in zip(*columns, strict=True):
                        write(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.columns))
                sql = f"INSERT INTO {self.table} ({self.column_sql}) VALUES ({placeholders})"
                cursor.executemany(sql, list(zip(*columns, strict=True)))
        return n


_TIMES = None


def _times():
    global _TIMES
    if _TIMES is None:
        _TIMES = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
    return _TIMES


def _day_texts(days):
    first = int(days.min())
    return first, np.datetime_as_string(np.arange(first, int(days.max()) + 1).astype("datetime64[D]")).tolist()


def date_texts(days):
    """``YYYY-MM-DD`` for day numbers (days since 1970-01-01)."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        return []
    first, texts = _day_texts(days)
    return [texts[d] for d in (days - first).tolist()]


def datetime_texts(epoch_seconds):
    """UTC timestamps as the database takes them: with ``+00`` for PostgreSQL, naive UTC text on SQLite
    (what Django writes there)."""
    epoch = np.asarray(epoch_seconds, dtype=np.int64)
    if not len(epoch):
        return []
    days, seconds = np.divmod(epoch, 86_400)
    first, texts = _day_texts(days)
    times = _times()
    suffix = "+00" if connection.vendor == "postgresql" else ""
    return [f"{texts[d]} {times[s]}{suffix}" for d, s in zip((days - first).tolist(), seconds.tolist(), strict=True)]


def money_floats(cents):
    """Cents as floats in yuan: their ``repr`` is the exact amount with at most two decimals."""
    return (np.asarray(cents, dtype=np.int64) / 100).tolist()


def money_texts(cents):
    """Cents as ``Decimal``-style text with two decimals (``"1234.50"``), as ``str(order.total_amount)``."""
    out = []
    for value in np.asarray(cents, dtype=np.int64).tolist():
        sign = "-" if value < 0 else ""
        whole, frac = divmod(abs(value), 100)
        out.append(f"{sign}{whole}.{frac:02d}")
    return out


def nullable(ids):
    """Ids with 0 meaning NULL."""
    return [v or None for v in np.asarray(ids, dtype=np.int64).tolist()]
