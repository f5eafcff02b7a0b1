"""Many rows at once through the driver's own executemany.

SQLAlchemy's per-row parameter processing costs more than the intake's whole work on a row, so
the hot inserts hand the driver plain tuples, with values converted once, exactly as
SQLAlchemy would bind them (its own bind processors: aware UTC times on SQLite, booleans).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from ceasefire.store.schema import UTCDateTime

# SQLite's driver binds an int, a float, a str or a bytearray as it is, and puts any other
# value through its adapter protocol: it looks for ``__adapt__`` and ``__conform__``, each
# lookup raising and clearing an AttributeError, 0.37 µs a value. The intake binds about five
# such values a record (NULL columns, the log entry's leaf hash). An adapter registered for
# the exact type is found first, by one dict lookup: these give the value back unchanged (the
# same NULL, the same bytes), in C, for every SQLite connection of the process.
_NOTHING: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NOTHING.get)
sqlite3.register_adapter(bytes, bytes)


class _Plan(NamedTuple):
    """How rows of some columns of a table go to one dialect's driver (made once: building it
    per call cost a tenth of a decision's insert of its notices)."""

    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    convert: list[tuple[int, Callable[[Any], Any]]]
    """The columns whose values the driver gets converted, by position, and how."""


_MADE: weakref.WeakKeyDictionary[Dialect, dict[Any, Any]] = weakref.WeakKeyDictionary()
"""What is made once per dialect and key (:func:`_once`): the inserts' plans and SQL."""


def _once(dialect: Dialect, key: Any, make: Callable[[], Any]) -> Any:
    made = _MADE.get(dialect)
    if made is None:
        made = _MADE[dialect] = {}
    found = made.get(key)
    if found is None:
        found = made[key] = make()
    return found


def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> _Plan:
    def make() -> _Plan:
        convert = [
            (i, process)
            for i, name in enumerate(columns)
            if (process := _bind_processor(table.c[name], dialect))
        ]
        values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        )
        return _Plan(values, convert)

    plan: _Plan = _once(dialect, ("plan", table, columns), make)
    return plan


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys, column names of ``table``) in one executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    plan = _plan(connection.dialect, table, columns)
    params: list[tuple[Any, ...]] = [plan.values(row) for row in rows]
    if plan.convert:
        # Column by column, each distinct value converted once: a batch shares its receipt
        # time, and flags and empty times repeat.
        by_column: list[Sequence[Any]] = list(zip(*params, strict=True))
        for i, process in plan.convert:
            done: dict[Any, Any] = {}
            by_column[i] = [
                done[v] if v in done else done.setdefault(v, process(v)) for v in by_column[i]
            ]
        params = list(zip(*by_column, strict=True))
    insert_values(connection, table, columns, params)


def insert_values(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    params: Sequence[Sequence[Any]],
) -> None:
    """Insert rows given as tuples in ``columns``' order, each value already in the form the
    driver is given (:func:`binder`, :func:`time_binder`): no per-row work in Python."""
    if not params:
        return
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table.name, columns, params)
        return
    sql = insert_sql(connection.dialect, table.name, tuple(columns))
    execute_many(connection, sql, params if isinstance(params, list) else list(params))


def execute_many(connection: Connection, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """``sql`` (in the driver's own syntax) for each of ``params``, in the caller's transaction.

    On SQLite, inside a transaction SQLAlchemy began (and will end), the driver runs it at
    once: SQLAlchemy's execution of a statement costs more than SQLite's writing of a row
    (``exec_driver_sql`` 19 µs, the driver 4; a decision's ten inserts, 0.5-0.7 M of its
    12.4 M instructions). Its errors are SQLAlchemy's, as ``exec_driver_sql`` raises them;
    the engine's events do not see the statement. Elsewhere, through ``exec_driver_sql``."""
    driver = sqlite_driver(connection)
    if driver is None:
        connection.exec_driver_sql(sql, list(params))  # a list: many rows, not one tuple
        return
    try:
        driver.executemany(sql, params)
    except sqlite3.Error as error:
        raise driver_error(connection, sql, params, error) from error


def sqlite_driver(connection: Connection) -> sqlite3.Connection | None:
    """SQLite's own connection under ``connection``, if it is in a transaction SQLAlchemy
    began (and so will commit or roll back, with what the driver wrote in it); else None."""
    if connection.dialect.name != "sqlite" or not connection.in_transaction():
        return None
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


def driver_error(connection: Connection, sql: str, params: Any, error: Exception) -> Exception:
    """``error``, raised by the driver running ``sql``, as SQLAlchemy raises it."""
    return DBAPIError.instance(sql, params, error, sqlite3.Error, dialect=connection.dialect)


def insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """The INSERT of ``rows`` rows of ``columns`` of ``table`` in this driver's SQL, made once."""

    def make() -> str:
        quote, mark = _syntax(dialect)
        row = f"({', '.join([mark] * len(columns))})"
        return (
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES {', '.join([row] * rows)}"
        )

    sql: str = _once(dialect, ("insert", table, columns, rows), make)
    return sql


FEW = 8
"""Rows at most that PostgreSQL gets as one ``INSERT`` rather than a ``COPY``."""


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], params: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: the rows (in ``columns``' order) through ``COPY ... FROM STDIN``, in the
    caller's transaction. psycopg's executemany pays its Python work per row and per
    parameter (about a fifth of the center's whole cost of a record); COPY writes each row
    in C. A few rows (a workflow step's log entry, a decision's three notices) go as one
    ``INSERT`` of them all: a COPY waits for the server twice (its start, its end), an
    INSERT once, and a decision writes five such batches while it holds the log's lock."""
    driver = connection.connection.driver_connection
    assert driver is not None
    if len(params) <= FEW:
        sql = insert_sql(connection.dialect, table, tuple(columns), len(params))
        with driver.cursor() as cursor:
            cursor.execute(sql, [value for one in params for value in one])
        return
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
    ):
        for one in params:
            copy.write_row(one)


def set_column(
    connection: Connection, table: Table, column: str, pairs: Sequence[tuple[Any, Any]]
) -> None:
    """``UPDATE table SET column = value WHERE id = key`` for each ``(value, key)`` pair, in
    one executemany (values that need no conversion: text, numbers)."""
    if not pairs:
        return
    quote, mark = _syntax(connection.dialect)
    connection.exec_driver_sql(
        f"UPDATE {quote(table.name)} SET {quote(column)} = {mark} WHERE id = {mark}", list(pairs)
    )


def _syntax(dialect: Dialect) -> tuple[Callable[[str], str], str]:
    """How this driver's SQL quotes a name, and its parameter mark."""
    return dialect.identifier_preparer.quote, "?" if dialect.paramstyle == "qmark" else "%s"


def binder(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of ``column`` before the driver gets it; ``None``: the
    value goes as it is."""
    return _bind_processor(column, dialect)


def time_binder(dialect: Dialect) -> Callable[[datetime], Any]:
    """A :class:`UTCDateTime` value as this dialect's driver is given it: SQLite's text
    (:func:`sqlite_time`); elsewhere the aware time in UTC, as the type binds it."""
    return sqlite_time if dialect.name == "sqlite" else _in_utc


def times_binder(dialect: Dialect) -> Callable[[Sequence[datetime]], list[Any]]:
    """:func:`time_binder` for many times at once (:func:`sqlite_times` on SQLite)."""
    if dialect.name == "sqlite":
        return sqlite_times
    return lambda values: [_in_utc(v) for v in values]


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in ceasefire carries its offset")
    return value.astimezone(UTC)


def _bind_processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UTCDateTime) and dialect.name == "sqlite":
        return sqlite_time
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def sqlite_time(value: datetime | None) -> str | None:
    """What SQLAlchemy stores on SQLite for a :class:`UTCDateTime` ("YYYY-MM-DD HH:MM:SS.ffffff"
    in UTC), made in C: its own processor costs more than the rest of a row."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # nearly always: records are normalised to UTC on receipt
        return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in ceasefire carries its offset")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SPACE = ord(" ")


def sqlite_times(values: Sequence[datetime]) -> list[str]:
    """:func:`sqlite_time` of each of ``values`` (aware times), formatted by numpy for all at
    once: 0.5 µs a time instead of 1.4 (``isoformat`` of an aware time asks its zone for the
    offset)."""
    if not values:
        return []
    micros = np.array([(v - _EPOCH) // _MICROSECOND for v in values], dtype="datetime64[us]")
    text = np.datetime_as_string(micros, unit="us")  # 2021-02-01T10:32:00.000000, in UTC
    chars = text.view(np.uint32).reshape(len(text), -1).copy()  # UTF-32: one code point each
    chars[:, 10] = _SPACE  # "T" -> " "
    return chars.view(text.dtype).ravel().tolist()


def digests(
    connection: Connection, table: Table, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The stored ``digest`` of each (contingent, source_id) of ``keys`` that is in ``table``."""
    quote, mark = _syntax(connection.dialect)
    by_contingent: dict[str, list[str]] = {}
    for contingent, source_id in keys:
        by_contingent.setdefault(contingent, []).append(source_id)
    found: dict[tuple[str, str], str] = {}
    for contingent, ids in by_contingent.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            # contingent first: the unique index on (contingent, source_id) answers it
            sql = (
                f"SELECT source_id, digest FROM {quote(table.name)} "
                f"WHERE contingent = {mark} AND source_id IN ({', '.join([mark] * len(chunk))})"
            )
            for source_id, digest in connection.exec_driver_sql(sql, (contingent, *chunk)):
                found[(contingent, source_id)] = digest
    return found
