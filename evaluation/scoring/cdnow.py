"""The CDNOW purchase history: 23,570 real customers, 69,659 orders (January 1997 - June 1998).

The cohort of every customer whose first purchase at the online music shop CDNOW fell in the
first quarter of 1997, with all their purchases to the end of June 1998 (Fader & Hardie,
"Forecasting repeat sales at CDNOW", Interfaces 31, 2001). The file ``CDNOW_master.txt``
ships inside the MIT-licensed ``lifetimes`` wheel on PyPI; ``fetch`` downloads that wheel with
pip (the only registry we can reach), checks its SHA-256 and extracts the one file into the
cache. Nothing of the data is committed (see README.md, "Data and licence").

Each line is one order: customer id, date (no time of day), number of CDs, dollar value.
``raw_purchase`` turns it into the upstream ``purchase`` event a shop would send to Rapport.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

WHEEL: Final = "lifetimes==0.11.3"
WHEEL_FILE: Final = "Lifetimes-0.11.3-py3-none-any.whl"
WHEEL_SHA256: Final = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
MEMBER: Final = "lifetimes/datasets/CDNOW_master.txt"
DATA_SHA256: Final = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"
DEFAULT_CACHE: Final = Path.home() / ".cache" / "rapport" / "eval"
SOURCE: Final = "cdnow"
CURRENCY: Final = "USD"
_ORDER_HOUR: Final = 12
"""The data has dates only: orders are placed at noon UTC, a second apart within a day."""


@dataclass(frozen=True, slots=True)
class Order:
    customer: str
    """CDNOW's customer number, e.g. ``00042``."""
    day: date
    cds: int
    dollars: Decimal
    line: int
    """1-based line number in the file (after the header): the order's stable id."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(cache: Path = DEFAULT_CACHE) -> Path:
    """The path of ``CDNOW_master.txt``, downloading the wheel first if it is not cached."""
    target = cache / "cdnow" / "CDNOW_master.txt"
    if target.exists() and sha256_of(target) == DATA_SHA256:
        return target
    wheels = cache / "wheels"
    wheel = wheels / WHEEL_FILE
    if not wheel.exists():
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(wheels),
                WHEEL,
            ],
            check=True,
        )
    found = sha256_of(wheel)
    if found != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: SHA-256 {found}, expected {WHEEL_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(MEMBER))
    found = sha256_of(target)
    if found != DATA_SHA256:
        raise RuntimeError(f"{target}: SHA-256 {found}, expected {DATA_SHA256}")
    return target


def parse(lines: Iterable[str]) -> Iterator[Order]:
    """Orders of the whitespace-separated file; the header line is skipped."""
    line_number = 0
    for text in lines:
        fields = text.split()
        if not fields or fields[0] == "customer_id":
            continue
        line_number += 1
        customer, day, cds, dollars = fields
        yield Order(
            customer=customer,
            day=datetime.strptime(day, "%Y%m%d").date(),
            cds=int(cds),
            dollars=Decimal(dollars),
            line=line_number,
        )


def load(path: Path) -> list[Order]:
    with path.open(encoding="ascii") as stream:
        return list(parse(stream))


def customer_id(order: Order) -> str:
    return f"{SOURCE}-{order.customer}"


def order_time(order: Order, nth_of_day: int) -> datetime:
    """When the order happened: noon UTC of its day, plus ``nth_of_day`` seconds."""
    noon = datetime(order.day.year, order.day.month, order.day.day, _ORDER_HOUR, tzinfo=UTC)
    return noon + timedelta(seconds=nth_of_day)


def raw_purchase(order: Order, nth_of_day: int) -> dict[str, Any]:
    """The upstream ``purchase`` event of an order (``schemas.interactions.Purchase``)."""
    event: dict[str, Any] = {
        "type": "purchase",
        "event_id": f"{SOURCE}:order:{order.line}",
        "customer_id": customer_id(order),
        "occurred_at": order_time(order, nth_of_day).isoformat(),
        "source": SOURCE,
        "order_id": str(order.line),
        "amount": str(order.dollars),
        "currency": CURRENCY,
    }
    if order.cds >= 1:
        event["item_count"] = order.cds
    return event


def raw_events(orders: Iterable[Order]) -> Iterator[tuple[Order, datetime, bytes]]:
    """Each order with its time and its upstream event as the raw JSON record a shop sends."""
    seen_on_day: dict[tuple[str, date], int] = {}
    for order in orders:
        key = (order.customer, order.day)
        nth = seen_on_day.get(key, 0)
        seen_on_day[key] = nth + 1
        yield order, order_time(order, nth), json.dumps(raw_purchase(order, nth)).encode()
