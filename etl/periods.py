"""The one period parser: every publisher's period label -> (start, end, label, kind).

Periods are stored as start/end dates plus the publisher's label (methods.md) so monthly,
quarterly, annual, rolling and pooled series can sit side by side and be compared honestly.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_name) if m})


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str
    kind: str  # month, quarter, financial_year, calendar_year, year_ending, pooled, ...


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _full_year(two_or_four: str, century_from: int) -> int:
    value = int(two_or_four)
    if len(two_or_four) == 2:
        value += (century_from // 100) * 100
        if value < century_from:
            value += 100
    return value


def month(label: str) -> Period:
    """`YYYY-MM` (police.uk)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", label.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"not a YYYY-MM month: {label!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    return Period(date(y, mo, 1), _month_end(y, mo), label.strip(), "month")


def financial_year(start_year: int) -> Period:
    return Period(date(start_year, 4, 1), date(start_year + 1, 3, 31),
                  f"{start_year}/{str(start_year + 1)[-2:]}", "financial_year")


def financial_quarter(start_year: int, quarter: int) -> Period:
    """Financial quarter: Q1 = April-June."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    first_month = 4 + 3 * (quarter - 1)
    y = start_year + (first_month - 1) // 12
    mo = (first_month - 1) % 12 + 1
    end_mo = mo + 2
    return Period(date(y, mo, 1), _month_end(y, end_mo),
                  f"{start_year}/{str(start_year + 1)[-2:]} Q{quarter}", "quarter")


def parse_period(label: str) -> Period:
    """Parse any period label the project's publishers use; raise ValueError otherwise."""
    text = re.sub(r"\s+", " ", str(label)).strip()
    low = text.lower()
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", text)) and int(m.group(2)) <= 12 and int(m.group(2)) != int(m.group(1)[2:]) + 1:
        return month(text)
    # Financial year 2018/19, 2018-19, 2018/2019, FY 2018/19
    if m := re.fullmatch(r"(?:fy )?(\d{4})\s*[/-]\s*(\d{2}|\d{4})", low):
        start = int(m.group(1))
        end = _full_year(m.group(2), start)
        if end == start + 1:
            return Period(date(start, 4, 1), date(end, 3, 31), text, "financial_year")
    # Financial quarter: 2018/19 Q1
    if m := re.fullmatch(r"(\d{4})\s*[/-]\s*(\d{2}|\d{4}) q([1-4])", low):
        p = financial_quarter(int(m.group(1)), int(m.group(3)))
        return Period(p.start, p.end, text, "quarter")
    # Pooled financial years: 2020/21 - 22/23
    if m := re.fullmatch(r"(\d{4})/(\d{2}) - (\d{2})/(\d{2})", low):
        start = int(m.group(1))
        end = _full_year(m.group(4), start)
        return Period(date(start, 4, 1), date(end, 3, 31), text, "pooled_financial_years")
    # Pooled calendar years: 2020 - 22
    if m := re.fullmatch(r"(\d{4}) ?- ?(\d{2}|\d{4})", low):
        start = int(m.group(1))
        end = _full_year(m.group(2), start)
        if end > start:
            return Period(date(start, 1, 1), date(end, 12, 31), text, "pooled_calendar_years")
    # Calendar year
    if re.fullmatch(r"\d{4}", low):
        y = int(low)
        return Period(date(y, 1, 1), date(y, 12, 31), text, "calendar_year")
    # Year ending March 2019, YE Mar 2019, 12 months to March 2019
    if m := re.fullmatch(r"(?:year ending|ye|12 months to|12 months ending) ([a-z]+) (\d{4})", low):
        mo = MONTHS.get(m.group(1)[:3]) if m.group(1)[:3] in MONTHS else None
        if mo:
            y = int(m.group(2))
            end = _month_end(y, mo)
            start_mo = mo % 12 + 1
            start = date(y - 1 if mo != 12 else y, start_mo, 1)
            return Period(start, end, text, "year_ending")
    # Apr 2010 to Mar 2011 (ONS tables)
    if m := re.fullmatch(r"([a-z]+) (\d{4}) to ([a-z]+) (\d{4})", low):
        m1, m2 = MONTHS.get(m.group(1)[:3]), MONTHS.get(m.group(3)[:3])
        if m1 and m2:
            return Period(date(int(m.group(2)), m1, 1), _month_end(int(m.group(4)), m2), text,
                          "year_ending" if (int(m.group(4)) * 12 + m2) - (int(m.group(2)) * 12 + m1) == 11
                          else "range")
    # Month name and year: March 2019
    if m := re.fullmatch(r"([a-z]+) (\d{4})", low):
        mo = MONTHS.get(m.group(1)[:3])
        if mo:
            y = int(m.group(2))
            return Period(date(y, mo, 1), _month_end(y, mo), text, "month")
    raise ValueError(f"unrecognised period label: {label!r}")


# Plausibility: a period or date no publication of ours can hold is a typo or a damaged file
# (a month in 1900 or 2099, an attendance dated tomorrow), refused rather than charted.
EARLIEST = {
    "police_uk": date(2010, 12, 1),  # data.police.uk street-level records begin December 2010
    "istv": date(2014, 1, 1),  # ISB 1594 (ISTV) was first issued in 2014
    "any": date(1990, 1, 1),  # no series the dashboard loads starts earlier
}
# Counts above this cannot be true of any area (England and Wales: about 61 million people).
MAX_PLAUSIBLE_COUNT = 100_000_000


def implausible_period(start: date, end: date | None = None, *, earliest: date = EARLIEST["any"],
                       today: date | None = None) -> str | None:
    """Why a period cannot belong to a publication starting at `earliest`, or None: it starts
    before that or after today (a period may end after today only if it starts by today)."""
    today = today or date.today()
    if start < earliest:
        return f"period starts {start.isoformat()}, before the series began ({earliest.isoformat()})"
    if start > today:
        return f"period starts {start.isoformat()}, in the future (today is {today.isoformat()})"
    if end is not None and end < start:
        return "period ends before it starts"
    return None


def future_date(value: date, today: date | None = None) -> str | None:
    """Why a date that records something already done (a supply, an attendance) is impossible."""
    today = today or date.today()
    if value > today:
        return f"date {value.isoformat()} is in the future (today is {today.isoformat()})"
    return None


def implausible_count(value: float) -> str | None:
    """Why a count of people or events cannot be right, or None."""
    if value != value or value in (float("inf"), float("-inf")):
        return "count is not a finite number"
    if value > MAX_PLAUSIBLE_COUNT:
        return f"count {value:g} exceeds any plausible population ({MAX_PLAUSIBLE_COUNT:,})"
    return None


# Period wording in publishers' `period_type` columns and release titles (the national figures'
# origin file): read here, beside the one period parser, so every parser uses the same patterns.
YEAR_ENDING_TYPE = re.compile(r"^year ending ([A-Za-z]+) (\d{4})", re.IGNORECASE)
CALENDAR_YEAR_TYPE = re.compile(r"^calendar year (\d{4})", re.IGNORECASE)
QUARTER_TYPE = re.compile(r"^quarter \(([A-Za-z]{3})-([A-Za-z]{3}) (\d{4})\)$", re.IGNORECASE)
CSEW_DATA_PERIOD = re.compile(r"\(CSEW (\d{4}/\d{2}) data\)")
LEADING_PERIOD = re.compile(r"^(\d{4}(?:/\d{2})?) \(")

_MONTH_NAMES = "|".join(sorted({m for m in MONTHS if len(m) == 3}))
_FULL_DATE = re.compile(rf"\b(\d{{1,2}}) ({_MONTH_NAMES})[a-z]* (\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"(?<!YE )(?<!ending )\b({_MONTH_NAMES})[a-z]* (\d{{4}})\b",
                         re.IGNORECASE)
_YEAR_IN_PARENS = re.compile(r"[(,;]\s*(\d{4})\)")


def vintage_date(source_title: str) -> date | None:
    """Publication date stated in a source title, else None.

    Full dates ("30 Jan 2020") first; then month-year ("Feb 2019", taken as the 1st), skipping
    data periods written "YE Mar 2017"; then a bare year closing the parentheses ("(..., 2024)",
    taken as 1 January). Only text inside parentheses counts for the last two, because titles
    also carry data years ("statistics 2018 to 2019").
    """
    if m := _FULL_DATE.search(source_title):
        return date(int(m.group(3)), MONTHS[m.group(2).lower()[:3]], int(m.group(1)))
    inside = " ".join(re.findall(r"\(([^()]*)\)", source_title))
    if m := _MONTH_YEAR.search(inside):
        return date(int(m.group(2)), MONTHS[m.group(1).lower()[:3]], 1)
    if m := _YEAR_IN_PARENS.search(source_title):
        return date(int(m.group(1)), 1, 1)
    return None
