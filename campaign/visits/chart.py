"""Confirmed signatures per day per demand, drawn as an SVG on the server (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask_babel import get_locale
from sqlalchemy import func, select

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.signatures.counts import counted_demand_links, counted_signatures, counting_until
from campaign.signatures.models import Signature, SignatureDemand
from campaign.timeutil import as_date, utcnow

# Distinct in colour and in dash pattern, so lines stay apart in greyscale and for
# readers who do not tell colours apart (Okabe-Ito palette, all ≥3:1 on white).
STYLES = [
    ("#0072B2", ""), ("#D55E00", "6 3"), ("#007A5A", "2 2"), ("#8A5A00", "8 3 2 3"),
    ("#6F3E8F", "1 3"), ("#B4005A", "10 4"), ("#505050", "4 2 1 2"),
]  # fmt: skip
# A narrow drawing with large type: it is scaled down on a phone, and stays legible.
WIDTH, HEIGHT = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 44, 14, 12, 48


@dataclass
class Series:
    """One demand's line."""

    position: int
    title: str
    colour: str
    dash: str
    points: str  # the SVG polyline's points
    total: int


@dataclass
class Chart:
    """Everything the template needs to draw the chart and its table."""

    days: list[date]
    series: list[Series] = field(default_factory=list)
    peak: int = 0
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    table: list[tuple[date, list[int]]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT


def daily_counts(campaign: Campaign, days: int = 30, today: date | None = None) -> Chart:
    """Confirmed signatures per day per demand over the last ``days`` days."""
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    until = counting_until(campaign)  # the chart agrees with the public counts
    day = func.date(SignatureDemand.confirmed_at)
    rows = db.session.execute(
        select(day, SignatureDemand.demand_id, func.count())
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(
            *counted_signatures(campaign.id, until),
            *counted_demand_links(until),
            SignatureDemand.confirmed_at >= datetime.combine(start, datetime.min.time()),
        )
        .group_by(day, SignatureDemand.demand_id)
    ).all()
    counts: dict[tuple[date, int], int] = {(as_date(d), demand): n for d, demand, n in rows}
    dates = [start + timedelta(days=i) for i in range(days)]
    chart = Chart(days=dates)
    peak = max(counts.values(), default=0)
    chart.peak = peak
    scale_top = max(peak, 1)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return round(LEFT + plot_w * i / max(days - 1, 1), 1)

    def y(n: int) -> float:
        return round(HEIGHT - BOTTOM - plot_h * n / scale_top, 1)

    for index, demand in enumerate(campaign.demands):
        colour, dash = STYLES[index % len(STYLES)]
        values = [counts.get((d, demand.id), 0) for d in dates]
        chart.series.append(
            Series(
                position=demand.position,
                title=demand.title,
                colour=colour,
                dash=dash,
                points=" ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)),
                total=sum(values),
            )
        )
    step = max(1, scale_top // 4)
    chart.y_ticks = [(y(n), n) for n in range(0, scale_top + 1, step)]
    locale = str(get_locale() or "en")
    chart.x_ticks = [
        (x(i), format_skeleton("MMMd", dates[i], locale=locale))
        for i in range(0, days, max(1, days // 5))
    ]
    chart.table = [
        (d, [counts.get((d, demand.id), 0) for demand in campaign.demands])
        for d in dates
        if any(counts.get((d, demand.id), 0) for demand in campaign.demands)
    ]
    return chart
