"""Streamlit helpers shared by the pages: warehouse guard, URL state, quality badges, charts
with a text alternative, controlled tables and downloads.

Why: every page must behave the same way on the things users rely on (a link reproduces the
view; a synthetic number is never unlabelled; a chart always has a text alternative; a missing
warehouse gives instructions, not a stack trace), so those behaviours live in one place.
Imports: streamlit, pandas, plotly, app.queries, app.disclosure_view.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from app import queries as q
from app.disclosure_view import control, download_csv, quality_label
from app.safe_text import md

BADGE_COLOURS = {"official": "blue", "modelled": "orange", "synthetic": "red", "local": "violet"}
PROFILE_PAGE = "pages/1_Area_profile.py"


def page_setup(title: str) -> None:
    st.set_page_config(page_title=f"{title} - Serious violence dashboard", layout="wide")
    # The table toolbar's own CSV download is built in the browser from the cells shown, so it
    # cannot be formula-neutralised here and it drops the lineage columns (quality, source,
    # publisher, what each number is). It is hidden; pages offer `download()` (app.disclosure_view
    # download_csv: disclosure-controlled, formula-neutralised, with lineage) instead.
    st.set_option("client.disableDataExport", True)


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
    st.stop()


def quality_badge(quality: object) -> str:
    """Markdown badge: colour plus the word, so colour is never the only signal."""
    qual = str(quality) if isinstance(quality, str) else "unknown"
    word = {"synthetic": "SYNTHETIC - demonstration only", "modelled": "MODELLED estimate"}.get(qual, md(qual))
    return f":{BADGE_COLOURS.get(qual, 'gray')}-badge[{word}]"


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
               default: Any = None, key: str | None = None, help: str | None = None) -> Any:
    """A selectbox whose choice is read from and written to the query parameter `param`."""
    opts = list(options)
    if not opts:
        return None
    wanted = url_value(param)
    index = 0
    if wanted is not None and wanted in [str(o) for o in opts]:
        index = [str(o) for o in opts].index(wanted)
    elif default is not None and default in opts:
        index = opts.index(default)
    choice = st.selectbox(label, opts, index=index, format_func=format_func, key=key or f"sel_{param}", help=help)
    set_url(**{param: str(choice)})
    return choice


# ---------------------------------------------------------------- output helpers
def chart(fig: go.Figure, alt: str, *, key: str | None = None, **kwargs: Any) -> Any:
    """A plotly chart followed by its text alternative (also given to screen readers)."""
    event = st.plotly_chart(fig, key=key, alt=alt, **kwargs)
    st.caption(f"Text alternative: {md(alt)}")
    return event


def table(df: pd.DataFrame, *, controlled: bool = False, **kwargs: Any) -> pd.DataFrame:
    """Show a frame after disclosure control (unless it already went through it)."""
    shown = df if controlled or "count" not in df else control(df)
    if "quality" in shown and "quality_label" not in shown:
        shown = shown.assign(quality_label=shown["quality"].map(quality_label))
    st.dataframe(shown, hide_index=True, **kwargs)
    return shown


def download(df: pd.DataFrame, file_name: str, label: str = "Download CSV", *, key: str | None = None) -> None:
    """CSV download through the same disclosure rules as the screen."""
    st.download_button(label, data=download_csv(df), file_name=file_name, mime="text/csv",
                       key=key or f"dl_{file_name}", icon=":material/download:")


def profile_link(code: str, name: str, area_type: str) -> None:
    """Link to an area's profile. st.page_link needs the page registry of the app's entry
    point; when a page is run on its own (e.g. one page per AppTest run) fall back to a plain
    link to the same URL."""
    label = f"{md(name)} ({md(q.AREA_TYPE_NAMES.get(area_type, area_type))}) - open profile"
    try:
        st.page_link(PROFILE_PAGE, label=label, query_params={"area": code}, icon=":material/open_in_new:")
    except StreamlitPageNotFoundError:
        st.markdown(f"[{label}](/Area_profile?area={quote(str(code), safe='')})")
