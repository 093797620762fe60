"""Streamlit helpers shared by the pages: warehouse guard, URL state, quality badges, charts
with a text alternative, controlled tables and downloads.

Why: every page must behave the same way on the things users rely on (a link reproduces the
view; a synthetic number is never unlabelled; a chart always has a text alternative; a missing
warehouse gives instructions, not a stack trace), so those behaviours live in one place.
Imports: streamlit, pandas, plotly, app.queries, app.disclosure_view.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any, NoReturn
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import chart_store, download_links
from app import queries as q
from app.chart_export import add_lineage, figure_table, file_stem, image_config, lineage_text, svg_bytes
from app.disclosure_view import control, download_csv, quality_label
from app.safe_text import md
from app.table_view import MAX_STYLED_CELLS, column_label, formatters, grouped_number_columns

BADGE_COLOURS = {"official": "blue", "modelled": "orange", "synthetic": "red", "local": "violet"}
PROFILE_PAGE = "pages/1_Area_profile.py"


# The browser tab's icon. Without one, streamlit uses the page's navigation icon (Home's
# ":material/home:"), which the browser fetches from fonts.gstatic.com: a failed request in the
# console on a closed network, and a third-party request on every other. An emoji icon is drawn
# by the browser itself (streamlit makes it an inline data: URL), so nothing is fetched.
PAGE_ICON = "\N{BAR CHART}"


def page_setup(title: str) -> None:
    st.set_page_config(page_title=f"{title} - Serious violence dashboard", layout="wide", page_icon=PAGE_ICON)
    # The table toolbar's own CSV download is built in the browser from the cells shown, so it
    # cannot be formula-neutralised here and it drops the lineage columns (quality, source,
    # publisher, what each number is). It is hidden; pages offer `download()` (app.disclosure_view
    # download_csv: disclosure-controlled, formula-neutralised, with lineage) instead.
    st.set_option("client.disableDataExport", True)
    st.session_state["_svd_page"] = title
    st.html(f"<style>{PAGE_CSS}{download_links.LINK_CSS}</style>")


# Streamlit draws captions in a faded grey (#828180 on white: contrast 3.9:1, below WCAG AA's
# 4.5:1, flagged by axe in the browser tests). Inheriting the body text colour at 80% opacity
# reads as secondary text and passes (about 7:1) in both the light and the dark theme.
PAGE_CSS = '[data-testid="stCaptionContainer"] { color: inherit; opacity: 0.8; }'


def page_ready() -> None:
    """Mark the end of this run of the page: a hidden element rendered last, so a browser test
    (or a user script) can wait for a finished page instead of guessing with a sleep.

    Call it as the last statement of every page, and before every early stop (`stop()`)."""
    page = html.escape(str(st.session_state.get("_svd_page", "")), quote=True)
    with st.container(key="svd-page-ready"):
        st.html(f'<span data-svd-page="{page}" hidden></span>')


def stop() -> NoReturn:
    """`st.stop()` that still sets the page-ready signal (an early stop is a finished page)."""
    page_ready()
    st.stop()


def require_warehouse() -> None:
    """Stop the page with build instructions when there is no warehouse yet, and with repair
    instructions when the file is there but cannot be read (corrupt, empty, half-written)."""
    if q.warehouse_exists():
        problem = q.warehouse_problem()
        if problem is None:
            return
        st.error(q.unreadable_message(problem), icon=":material/error:")
        st.stop()
    st.warning(f"No warehouse found at `{q.db_path()}`.")
    st.markdown(
        "Build it once from the publishers' files (about a minute), then reload this page:\n\n"
        f"```bash\n{q.BUILD_COMMAND}\n```\n"
        "Set `SVD_DB` to use a warehouse elsewhere."
    )
    stop()


def quality_badge(quality: object) -> str:
    """Markdown badge: colour plus the word, so colour is never the only signal."""
    qual = str(quality) if isinstance(quality, str) else "unknown"
    return f":{BADGE_COLOURS.get(qual, 'gray')}-badge[{md(quality_label(quality))}]"


# ---------------------------------------------------------------- URL state
def url_value(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value else None


def set_url(**params: str | None) -> None:
    """Write view state to the URL (only when it changed, to avoid needless reruns)."""
    for key, value in params.items():
        if value is None or value == "":
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def url_select(label: str, options: Sequence[Any], param: str, *, format_func: Callable[[Any], str] = str,
               default: Any = None, key: str | None = None, help: str | None = None,
               noun: str | None = None) -> Any:
    """A selectbox whose choice is read from and written to the query parameter `param`.

    A link must never lie: a value in the URL that is not one of the options (an unknown area
    code, indicator or period) is said on the page and the page stops, rather than quietly
    opening the default and rewriting the URL (a clerk could quote the wrong area). A value
    that differs only in letter case is taken (`e22000308` opens E22000308). Only the link that
    opened the page is held to this: once the user has changed a choice on the page, a URL value
    left over from the earlier choice gives way to the default."""
    opts = list(options)
    if not opts:
        return None
    widget_key = key or f"sel_{param}"
    wanted = url_value(param)
    texts = [str(o) for o in opts]
    index = None
    if wanted is not None:
        if wanted in texts:
            index = texts.index(wanted)
        else:
            folded = [t.casefold() for t in texts]
            if wanted.strip().casefold() in folded:
                index = folded.index(wanted.strip().casefold())
            elif widget_key not in st.session_state:
                unknown_value(noun or label.lower(), wanted, param)
    if index is None:
        index = opts.index(default) if default is not None and default in opts else 0
    choice = st.selectbox(label, opts, index=index, format_func=format_func, key=widget_key, help=help)
    set_url(**{param: str(choice)})
    return choice


def unknown_value(noun: str, value: str, param: str) -> NoReturn:
    """Say that the link's `param` names nothing here, show nothing in its place, and stop."""
    st.error(f"No {noun} `{_code_text(value)}` in this warehouse (from `?{param}=` in the link). "
             f"Nothing is shown in its place: check the link, or open this page without `{param}` and pick "
             "from the list.")
    stop()


def unknown_values_warning(noun: str, values: list[str], param: str) -> None:
    """For a list in the URL (e.g. `?areas=`): name the values that match nothing; the rest stay."""
    shown = ", ".join(f"`{_code_text(v)}`" for v in values[:10]) + (" ..." if len(values) > 10 else "")
    st.warning(f"Not shown: {len(values)} {noun} from `?{param}=` in the link match nothing here for this "
               f"indicator, geography and period: {shown}.")


def _code_text(text: str) -> str:
    """A URL value shown inside inline code: backticks and line breaks removed, length bounded."""
    cleaned = text.replace("`", "'").replace("\n", " ").replace("\r", " ")
    return cleaned[:80] + ("..." if len(cleaned) > 80 else "")


# ---------------------------------------------------------------- output helpers
def chart(fig: go.Figure, alt: str, *, key: str | None = None, data: pd.DataFrame | None = None,
          lineage: str | None = None, **kwargs: Any) -> Any:
    """A plotly chart followed by its text alternative (also given to screen readers), with its
    lineage drawn in and the numbers behind it as a CSV (app.chart_export).

    `data`: the frame the chart was drawn from (its source, period and quality give the lineage
    line, and it is the CSV, disclosure-controlled and formula-neutralised like every download);
    without it the CSV is the points the figure draws. PNG: the modebar's camera button (named
    after the chart, lineage drawn in); SVG: a download button, rendered on the server on click.
    `lineage`: the source/period/quality line, for a chart whose frame does not carry them. The
    line is also written under the chart as text, which wraps on a phone where the drawn one is cut."""
    line = lineage or lineage_text(data)
    add_lineage(fig, line)
    event = st.plotly_chart(fig, key=key, alt=alt, config=image_config(fig, key), **kwargs)
    # the lineage drawn in the chart is cut where a phone's screen is narrower than the chart's
    # lines; as text under it, it wraps at any width
    st.caption(f"{md(line)}  \nText alternative: {md(alt)}")
    stem = file_stem(fig, key)
    table = data if data is not None else figure_table(fig)
    csv_col, svg_col = st.columns(2)
    with csv_col:
        download(table, f"{stem}.csv", "Data behind this chart (CSV)", key=f"dl_chart_{key or stem}")
    with svg_col:  # PNG: the chart's camera button; SVG drawn on the server only when asked for
        svg_key = f"dl_svg_{key or stem}"
        ctx = get_script_run_ctx()
        if download_links.enabled() and ctx is not None:  # under serve.py: a link (app.download_links)
            tok = chart_store.token(ctx.session_id, svg_key)
            chart_store.remember(tok, fig)
            st.html(download_links.link_html("Chart as SVG", download_links.chart_url(tok, stem), f"{stem}.svg"))
        else:
            st.download_button("Chart as SVG", data=lambda: svg_bytes(fig), file_name=f"{stem}.svg",
                               mime="image/svg+xml", key=svg_key, icon=":material/image:", on_click="ignore")
    return event


def table(df: pd.DataFrame, *, controlled: bool = False, registry: dict[str, Any] | None = None,
          **kwargs: Any) -> pd.DataFrame:
    """Show a frame after disclosure control (unless it already went through it). `registry`: the
    indicator's registry row, for a table of one indicator (values with its decimals)."""
    shown = df if controlled or "count" not in df else control(df)
    if "quality" in shown and "quality_label" not in shown:
        shown = shown.assign(quality_label=shown["quality"].map(quality_label))
    dataframe(shown, hide_index=True, registry=registry, **kwargs)
    return shown


def dataframe(df: pd.DataFrame, *, column_config: dict[str, Any] | None = None, missing: str = "",
              names: dict[str, dict[str, str]] | None = None, registry: dict[str, Any] | None = None,
              **kwargs: Any) -> Any:
    """`st.dataframe` with headings a person reads and blanks for missing values (app.table_view).

    Only the display changes: the frame keeps its column names and values. A column the page
    configures itself (`column_config`, e.g. a link) keeps that configuration. `missing`: the
    text for a missing value (blank; "suppressed" where every missing value is a suppressed one).
    `names`: per column, codes shown by their names (a `family` column always by its family name)."""
    config: dict[Any, Any] = {col: st.column_config.Column(column_label(col)) for col in df.columns
                              if isinstance(col, str)}
    for col, given in (column_config or {}).items():
        config[col] = ({**given, "label": column_label(col)} if isinstance(given, dict) and not given.get("label")
                       else given)
    data: Any = df
    if df.size <= MAX_STYLED_CELLS and df.columns.is_unique:
        data = df.style.format(formatters(df, skip=set(column_config or {}), missing=missing,
                                          names={"family": q.FAMILY_NAMES, **(names or {})}, registry=registry))
    else:  # too large to style: streamlit's own display, numbers still thousands separated
        for col in grouped_number_columns(df, skip=set(column_config or {})):
            config[col] = st.column_config.NumberColumn(column_label(col), format="localized")
    return st.dataframe(data, column_config=config, placeholder=missing, **kwargs)


def download(df: pd.DataFrame, file_name: str, label: str = "Download CSV", *, key: str | None = None) -> None:
    """CSV download through the same disclosure rules as the screen."""
    st.download_button(label, data=download_csv(df), file_name=file_name, mime="text/csv",
                       key=key or f"dl_{file_name}", icon=":material/download:")


def built_download(label: str, build: Callable[[], bytes | str], *, url: str, file_name: str, mime: str,
                   key: str, icon: str = ":material/download:") -> None:
    """A file built only when asked for (a report, the whole table): a link to its server route
    under serve.py, else streamlit's on-click button calling `build` (app.download_links says why
    the link is preferred: a browser may block a download the page starts after a slow build)."""
    if download_links.enabled():
        st.html(download_links.link_html(label, url, file_name))
    else:
        st.download_button(label, data=build, file_name=file_name, mime=mime, key=key, icon=icon)


def profile_link(code: str, name: str, area_type: str) -> None:
    """Link to an area's profile. st.page_link needs the page registry of the app's entry
    point; when a page is run on its own (e.g. one page per AppTest run) fall back to a plain
    link to the same URL."""
    label = f"{md(name)} ({md(q.AREA_TYPE_NAMES.get(area_type, area_type))}) - open profile"
    try:
        st.page_link(PROFILE_PAGE, label=label, query_params={"area": code}, icon=":material/open_in_new:")
    except StreamlitPageNotFoundError:
        st.markdown(f"[{label}](/Area_profile?area={quote(str(code), safe='')})")


COMPARE_PAGE = "pages/3_Compare.py"


def compare_similar_link(code: str, name: str, indicator_id: str | None = None) -> None:
    """Link to Compare with a CSP and its most similar partnerships as the comparison set (as
    `profile_link`, a plain link when the page runs on its own)."""
    label = f"Compare {md(name)} with its most similar partnerships"
    params = {"similar": code, "level": "csp", **({"indicator": indicator_id} if indicator_id else {})}
    try:
        st.page_link(COMPARE_PAGE, label=label, query_params=params, icon=":material/compare_arrows:")
    except StreamlitPageNotFoundError:
        st.markdown(f"[{label}](/Compare?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items()) + ")")
