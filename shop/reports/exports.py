"""The order list as CSV for spreadsheets: streamed, exact decimals, ISO 8601 UTC times, every
field quoted and no text a spreadsheet would run as a formula (OWASP's CSV injection guidance)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select

from sparkpay.networks import network_label

from ..extensions import db
from ..models import Order
from ..plain_text import shown

#: Rows fetched from the database per batch; memory stays flat however many orders match.
BATCH = 1000
#: A spreadsheet runs a cell that starts with one of =, +, -, @, tab or carriage return as a
#: formula, and one that reads the file with another separator (or ignores the quotes) may start a
#: cell after a comma, a semicolon or a quote inside the text (``x;=4+4``, ``x, -1``): such text
#: is led by ``'``, which makes it text.
_FORMULA = re.compile(r"^[=+\-@\t\r]|[,;\"'] *[=+\-@\t\r]")


def _amount(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object) -> str:
    """Free text: control and direction characters written out, formulas defused."""
    text = shown("" if value is None else str(value))
    return "'" + text if _FORMULA.search(text) else text


#: (heading, cell) per column, in order.
COLUMNS: tuple[tuple[str, Callable[[Order], str]], ...] = (
    ("created_at_utc", lambda o: _time(o.created_at)),
    ("request_no", lambda o: o.request_no),
    ("merchant_order_no", lambda o: _text(o.merchant_order_no)),
    ("status", lambda o: o.status),
    ("edition", lambda o: o.edition),
    ("amount", lambda o: _amount(o.amount)),
    ("currency", lambda o: o.currency),
    ("paid_amount", lambda o: _amount(o.real_pay_amount)),
    ("pay_network", lambda o: network_label(o.pay_network) if o.pay_network is not None else ""),
    ("tx_hash", lambda o: _text(o.tx_hash)),
    ("payer_addr", lambda o: _text(o.payer_addr)),
    ("pay_time_utc", lambda o: _time(o.pay_time)),
    ("completed_time_utc", lambda o: _time(o.completed_time)),
    ("closed_time_utc", lambda o: _time(o.closed_time)),
    ("description", lambda o: _text(o.description)),
    ("created_by", lambda o: _text(o.created_by)),
    ("needs_attention", lambda o: _text(o.needs_attention)),
)


def orders_csv(statement: Select[Order]) -> Iterator[str]:
    """The heading line, then one line per order of ``statement``, fetched ``BATCH`` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([heading for heading, _ in COLUMNS])
    yield flush()
    result = db.session.execute(statement.execution_options(yield_per=BATCH))
    for batch in result.scalars().partitions():
        for order in batch:
            writer.writerow([cell(order) for _, cell in COLUMNS])
        yield flush()  # the batch's orders are unreferenced now; the session holds them weakly
