"""Small server-rendered SVG charts: geometry here, markup in templates.

No script and no inline style (the CSP forbids both): bars are ``<rect>``
elements with presentation attributes, and every bar carries a ``<title>``
so the numbers are reachable without a mouse or sight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Okabe-Ito, distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
OTHER = "other"


@dataclass
class StackedBar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[StackedBar]
    legend: list[tuple[str, str, int]]  # (label, colour, total)
    max_value: int
    days: list[date]
    first_label: str
    last_label: str

    @property
    def empty(self) -> bool:
        return not self.bars


def stacked_days(
    *, counts: dict[tuple[date, str], int], start: date, days: int, top: int = 7, width: int = 600, height: int = 140
) -> Chart:
    """Stacked bars, one per day, one colour per series; beyond ``top`` series go to 'other'."""
    totals: dict[str, int] = {}
    for (_, series), n in counts.items():
        totals[series] = totals.get(series, 0) + n
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    keep = ranked[:top]
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(keep)}
    colour[OTHER] = PALETTE[-1]
    day_list = [start + timedelta(days=i) for i in range(days)]
    per_day: dict[date, dict[str, int]] = {d: {} for d in day_list}
    for (day, series), n in counts.items():
        if day in per_day:
            key = series if series in colour and series != OTHER else OTHER
            per_day[day][key] = per_day[day].get(key, 0) + n
    max_value = max((sum(v.values()) for v in per_day.values()), default=0)
    bars: list[StackedBar] = []
    slot = width / max(days, 1)
    for i, day in enumerate(day_list):
        y = float(height)
        for series in [*keep, OTHER]:
            n = per_day[day].get(series, 0)
            if not n:
                continue
            h = scaled(n, maximum=max_value, length=height)
            y -= h
            bars.append(
                StackedBar(
                    x=round(i * slot + 1, 2),
                    y=round(y, 2),
                    width=round(max(slot - 2, 1), 2),
                    height=round(h, 2),
                    fill=colour[series],
                    label=f"{day:%b} {day.day}: {series or 'unknown'} {n}",
                )
            )
    legend = [(s or "unknown", colour[s], totals[s]) for s in keep]
    other_total = sum(totals[s] for s in ranked[top:])
    if other_total:
        legend.append((OTHER, colour[OTHER], other_total))
    return Chart(
        width=width,
        height=height,
        bars=bars,
        legend=legend,
        max_value=max_value,
        days=day_list,
        first_label=f"{day_list[0]:%b} {day_list[0].day}" if day_list else "",
        last_label=f"{day_list[-1]:%b} {day_list[-1].day}" if day_list else "",
    )


def scaled(value: float, *, maximum: float, length: float) -> float:
    """``value`` of ``maximum`` as a distance along ``length`` user units (0 when there is no maximum)."""
    return length * value / maximum if maximum else 0.0


@dataclass(frozen=True, slots=True)
class RankedBar:
    label: str
    count: int
    width: int  # of the chart's width


def ranked_bars(counter: Counter[str], *, width: int) -> list[RankedBar]:
    """Horizontal bars, longest first (ties by label); the longest spans ``width``, none is under 2."""
    if not counter:
        return []
    top = max(counter.values())
    rows = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return [RankedBar(label=key, count=n, width=max(2, round(scaled(n, maximum=top, length=width)))) for key, n in rows]


def time_positions(times: Iterable[datetime], *, width: int) -> list[int]:
    """Each time's x along ``width`` from the earliest (0) to the latest (``width``)."""
    times = list(times)
    if not times:
        return []
    first = min(times)
    span = (max(times) - first).total_seconds() or 1.0
    return [round(scaled((t - first).total_seconds(), maximum=span, length=width)) for t in times]
