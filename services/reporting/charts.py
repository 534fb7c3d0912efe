"""The dashboard's charts, drawn on the server as inline SVG from the indicators' JSON. Pure.

No script and no CDN: the page works offline and in any browser, and every
bar carries its number as text and as a ``<title>``, so the figures can be
read without seeing the colours. One small function per chart picks its
numbers from the ``GET /indicators`` JSON; :func:`bar_chart` draws them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from markupsafe import Markup

Label = Callable[[str], str]
Number = int | Decimal

COLOURS = ("#1b6ca8", "#e07b00", "#2a9d55", "#8e44ad", "#c0392b", "#5d6d7e")
NATIONALITY_ORDER = ("VE", "PE", "other")

PHASE_HEADLINES = ("osvs_identified", "osvs_registered_ruos", "osvs_supported", "projects_active", "agents_of_change")
GROUP_HEADLINES = ("osvs_identified", "osvs_registered_ruos", "osvs_supported")
GROUP_PEOPLE = ("beneficiaries_direct",)
"""The by-zone (or district) figures are drawn as two charts, each on its own scale: counts of OSVs (a handful)
and counts of people (hundreds) would flatten each other on one."""
NATIONALITY_INDICATORS = ("members_joined", "members_left", "agents_of_change", "beneficiaries_direct")
BENEFICIARY_INDICATORS = ("beneficiaries_direct", "beneficiaries_indirect")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Number | None]


@dataclass(frozen=True)
class Chart:
    """A chart's numbers, kept beside its SVG so the page can also list them as a table."""

    id: str
    title: str
    categories: Sequence[str]
    series: Sequence[Series]

    @property
    def svg(self) -> Markup:
        return bar_chart(self)

    @property
    def legend(self) -> list[tuple[str, str]]:
        """Each series' label and colour."""
        return [(s.label, colour(i)) for i, s in enumerate(self.series)]

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """Each category with its numbers as text, for the table beside the chart."""
        return [(c, [_text(s.values[row]) for s in self.series]) for row, c in enumerate(self.categories)]


def headline(value: Any) -> Number | None:
    """The one number an indicator stands for: itself, or the ``total`` of a breakdown."""
    if isinstance(value, Mapping):
        value = value.get("total")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _text(number: Number | None) -> str:
    return "—" if number is None else str(number)


def bar_chart(chart: Chart, width: int = 640) -> Markup:
    """Horizontal grouped bars: one group per category, one bar per series, each labelled with its number.

    Category names wrap onto as many lines as they need beside their bars (never cut); the value after the
    longest bar has its own margin. The legend is the page's (:meth:`Chart.legend`), in HTML, where long labels wrap.
    """
    label_w, value_w, bar_h, gap, group_gap, line_h = 230, 72, 14, 2, 12, 15
    plot_w = width - label_w - value_w
    numbers = [v for s in chart.series for v in s.values if v is not None]
    top = max(numbers, default=0) or 1
    bars_h = len(chart.series) * (bar_h + gap) - gap
    wrapped = [_wrap(category) for category in chart.categories]
    heights = [max(bars_h, len(lines) * line_h) for lines in wrapped]
    height = sum(h + group_gap for h in heights) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart.id}" role="img" '
        f'aria-labelledby="{chart.id}-title" viewBox="0 0 {width} {height}" width="100%">',
        f'<title id="{chart.id}-title">{escape(chart.title)}</title>',
    ]
    y = 4
    for row, category in enumerate(chart.categories):
        group_h, lines = heights[row], wrapped[row]
        first = y + group_h / 2 - (len(lines) - 1) * line_h / 2 + 4
        spans = "".join(
            f'<tspan x="{label_w - 8}" y="{first + i * line_h:.1f}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        parts.append(f'<text class="category" text-anchor="end">{spans}</text>')
        bars_y = y + (group_h - bars_h) / 2
        for index, series in enumerate(chart.series):
            number = series.values[row]
            bar_w = 0.0 if number is None else max(float(number), 0.0) / float(top) * plot_w
            bar_y = bars_y + index * (bar_h + gap)
            what = f"{category} — {series.label}: {_text(number)}"
            parts.append(
                f'<rect x="{label_w}" y="{bar_y:.1f}" width="{bar_w:.1f}" height="{bar_h}" fill="{colour(index)}">'
                f"<title>{escape(what)}</title></rect>"
                f'<text x="{label_w + bar_w + 4:.1f}" y="{bar_y + bar_h - 3:.1f}" class="value">{_text(number)}</text>'
            )
        y += group_h + group_gap
    parts.append("</svg>")
    return Markup("".join(parts))


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def _wrap(category: str, room: int = 28) -> list[str]:
    """A category name in lines of at most ``room`` characters (about 210 px at the chart's 13 px), broken between
    words; a single word longer than that gets a line of its own."""
    lines: list[str] = []
    for word in category.split():
        if lines and len(lines[-1]) + 1 + len(word) <= room:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _present(names: Sequence[str], indicator_sets: Sequence[Mapping[str, Any]]) -> list[str]:
    """The names that have a number in at least one of the sets, in the order given."""
    return [n for n in names if any(headline(s.get(n)) is not None for s in indicator_sets)]


def _started(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The report's phases that have started by its day: one ``not_started`` counts nothing yet (its indicators are 0),
    and a chart drawing those zeros showed a figure the phase table rightly shows as "—" (tester 178 F5)."""
    return [p for p in report.get("phases", []) if p.get("status") != "not_started"]


def _phase_columns(report: Mapping[str, Any], label: Label) -> tuple[list[str], list[Mapping[str, Any]]]:
    phases = _started(report)
    names = [f"{p['code']} · {p['name']}" for p in phases] + [label("ui.total")]
    return names, [p.get("indicators", {}) for p in phases] + [report.get("total", {})]


def phases_chart(report: Mapping[str, Any], label: Label) -> Chart | None:
    """The headline counts of each phase that has started, side by side."""
    phases = _started(report)
    sets = [p.get("indicators", {}) for p in phases]
    names = _present(PHASE_HEADLINES, sets)
    if not phases or not names:
        return None
    categories = [f"{p['code']} · {p['name']}" for p in phases]
    series = [Series(label(f"indicator.{n}"), [headline(s.get(n)) for s in sets]) for n in names]
    return Chart("chart-phases", label("chart.phases"), categories, series)


def groups_chart(report: Mapping[str, Any], label: Label) -> Chart | None:
    """The OSV counts of each zone (or district) of the breakdown, in total."""
    return _groups(report, label, GROUP_HEADLINES, "")


def groups_people_chart(report: Mapping[str, Any], label: Label) -> Chart | None:
    """The people reached in each zone (or district) of the breakdown, in total, on a scale of their own."""
    return _groups(report, label, GROUP_PEOPLE, "_people")


def _groups(report: Mapping[str, Any], label: Label, headlines: Sequence[str], suffix: str) -> Chart | None:
    breakdown = report.get("breakdown") or {}
    groups: Mapping[str, Any] = breakdown.get("groups") or {}
    totals = [g.get("total", {}) for g in groups.values()]
    names = _present(headlines, totals)
    if not groups or not names:
        return None
    by = breakdown.get("by", "zone")
    series = [Series(label(f"indicator.{n}"), [headline(t.get(n)) for t in totals]) for n in names]
    return Chart(f"chart-by-{by}{suffix.replace('_', '-')}", label(f"chart.by_{by}{suffix}"), list(groups), series)


def nationality_chart(report: Mapping[str, Any], label: Label) -> Chart | None:
    """Over the whole programme, each people-counting indicator split by nationality."""
    total = report.get("total", {})
    splits = {
        n: total[n]["by_nationality"]
        for n in NATIONALITY_INDICATORS
        if isinstance(total.get(n), Mapping) and "by_nationality" in total[n]
    }
    if not splits:
        return None
    seen = {code for split in splits.values() for code in split}
    codes = [c for c in NATIONALITY_ORDER if c in seen] + sorted(seen - set(NATIONALITY_ORDER))
    if not codes:
        return None
    series = [Series(label(f"code.{c}"), [headline(split.get(c, 0)) for split in splits.values()]) for c in codes]
    return Chart("chart-nationality", label("chart.nationality"), [label(f"indicator.{n}") for n in splits], series)


def beneficiaries_chart(report: Mapping[str, Any], label: Label) -> Chart | None:
    """Direct and indirect beneficiaries, phase by phase (those started) and in total."""
    categories, sets = _phase_columns(report, label)
    names = _present(BENEFICIARY_INDICATORS, sets)
    if not names:
        return None
    series = [Series(label(f"indicator.{n}"), [headline(s.get(n)) for s in sets]) for n in names]
    return Chart("chart-beneficiaries", label("chart.beneficiaries"), categories, series)

