"""Geometry for the scorecard's server-side SVG line charts (pure; the template draws).

Working out scales and ticks here keeps the Jinja macro to drawing, and makes the numbers
testable. Points are spaced evenly (periods, or the dates values were reported for).
"""

from __future__ import annotations

import math
from datetime import date

# (width, height, left, right, top, bottom): the right margin holds the threshold labels.
SIZES = {"full": (640, 220, 52, 56, 14, 34), "compact": (380, 170, 44, 46, 12, 30)}


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    """Axis and point labels: 7,500 rather than 7.5e+03; no trailing zeros."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _label(text: str) -> str:
    """ISO dates read as "31 Dec 2025"; anything else (a period's name) as given."""
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        return text
    return f"{day.day} {day:%b %Y}"


def line_chart(labels: list[str], series: list[dict], *, bands: list[tuple] = (),
               y_min: float | None = 0, y_max: float | None = None, compact: bool = False,
               fmt=None) -> dict:
    """`series`: [{"name", "class", "values": [float | None, ...aligned with labels]}];
    `bands`: [(value, css class, label)] drawn as dashed lines (thresholds)."""
    width, height, left, right, top, bottom = SIZES["compact" if compact else "full"]
    fmt = fmt or _number
    values = [v for s in series for v in s["values"] if v is not None]
    values += [band[0] for band in bands if band[0] is not None]
    low = min(values + [0]) if y_min is None else y_min
    high = y_max if y_max is not None else _nice_ceiling(max(values + [low + 1]) * 1.08)
    if high <= low:
        high = low + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(index: int) -> float:
        return left + (plot_w * index / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    most = 2 if compact else 8  # a small chart names its first and last point only
    step = max(1, math.ceil((len(labels) - 1) / (most - 1))) if len(labels) > 1 else 1
    shown = sorted({0, len(labels) - 1} | set(range(0, len(labels), step)))
    if len(shown) > most:  # the last label pushes out its neighbour rather than overlap
        shown = shown[:most - 1] + [len(labels) - 1]
    drawn = []
    for s in series:
        points = [(round(x(i), 1), round(y(v), 1), _label(labels[i]), fmt(v))
                  for i, v in enumerate(s["values"]) if v is not None]
        path = " ".join(f"{'M' if n == 0 else 'L'}{px},{py}" for n, (px, py, _, _) in
                        enumerate(points))
        drawn.append({"name": s["name"], "class": s.get("class", ""), "path": path,
                      "points": points})
    anchors = {0: "start", len(labels) - 1: "end"} if len(labels) > 1 else {}
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": height - bottom,
        "ticks": [(round(y(low + (high - low) * i / 4), 1), fmt(low + (high - low) * i / 4))
                  for i in range(5)],
        "x_labels": [(round(x(i), 1), _label(labels[i]), anchors.get(i, "middle"))
                     for i in shown],
        "series": drawn,
        "bands": [(round(y(v), 1), css, label) for v, css, label in bands
                  if v is not None and low <= v <= high],
    }
