"""Statistical methods shared by pages, downloads and reports: rates and intervals, benchmark
comparison, trend, SPC, funnel plots, disclosure control and summary sentences.

Pure functions over numbers and pandas frames: no streamlit, no file or network I/O, no
database. Imports numpy, scipy and pandas only.
"""
from methods.benchmark import (
    BenchmarkResult,
    RatingStyle,
    compare_frame,
    compare_with_benchmark,
    rating_style,
    style_for,
)
from methods.disclosure import apply_disclosure_control, neutralise_csv_formulas
from methods.funnel import classify_funnel, funnel_limits
from methods.rates import (
    RateResult,
    crude_rate,
    crude_rate_frame,
    directly_standardised_rate,
    proportion,
    proportion_frame,
)
from methods.spc import SpcResult, xmr_chart
from methods.summary import area_summary
from methods.trend import TrendResult, assess_trend
from methods.wording import format_value, quality_wording

__all__ = [
    "BenchmarkResult",
    "RateResult",
    "RatingStyle",
    "SpcResult",
    "TrendResult",
    "apply_disclosure_control",
    "area_summary",
    "assess_trend",
    "classify_funnel",
    "compare_frame",
    "compare_with_benchmark",
    "crude_rate",
    "crude_rate_frame",
    "directly_standardised_rate",
    "format_value",
    "funnel_limits",
    "quality_wording",
    "neutralise_csv_formulas",
    "proportion",
    "proportion_frame",
    "rating_style",
    "style_for",
    "xmr_chart",
]
