"""The sidebar navigation: every page with a human title ("Home", "A&E (ISTV)") and the URL
path it has always had, so links already shared keep working.

Why: with the `pages/` folder convention streamlit names pages after their files ("dashboard",
"AE ISTV"). `st.navigation` gives each page a title while `url_path` keeps the old address.
The entry point (`dashboard.py`) calls `route()` first: another page runs inside it and the run
stops there; for Home it returns and dashboard.py draws the home page below it. Page files
still run on their own (one per AppTest run), without this registry.

The page files stay in `pages/` (every test, link and branch names them there), but streamlit
treats an app beside a `pages/` folder as a folder-convention app, running a page file directly
(file names in the sidebar) until the entry point has called `st.navigation` once in the
process. `navigation_only()` switches that off for the process; serve.py calls it as the server
starts, so even the first visit to any URL goes through `route()`.
Imports: streamlit.
"""
from __future__ import annotations

import streamlit as st

HOME_TITLE = "Home"
# (file, title in the navigation, URL path: the one streamlit derived from the file name before)
PAGES: list[tuple[str, str, str]] = [
    ("pages/1_Area_profile.py", "Area profile", "Area_profile"),
    ("pages/2_Map.py", "Map", "Map"),
    ("pages/3_Compare.py", "Compare", "Compare"),
    ("pages/4_Data_and_sources.py", "Data & sources", "Data_and_sources"),
    ("pages/5_AE_ISTV.py", "A&E (ISTV)", "AE_ISTV"),
]


def navigation_only() -> None:
    """Tell streamlit this app declares its pages with `st.navigation`, not the `pages/` folder
    (the flag `st.navigation` itself sets on its first call; streamlit has no option for it)."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def _home() -> None:
    """Home is drawn by dashboard.py itself, after `route()` returns (see module docstring)."""


def route() -> None:
    """Register the pages; run the chosen one and stop, unless it is Home."""
    # No navigation icon: streamlit would make a page's material icon the browser tab's icon,
    # fetched from fonts.gstatic.com on every visit (app.ui.PAGE_ICON is drawn locally instead).
    home = st.Page(_home, title=HOME_TITLE, default=True)
    pages = [home] + [st.Page(file, title=title, url_path=path) for file, title, path in PAGES]
    chosen = st.navigation(pages)
    if chosen.title == HOME_TITLE and chosen.url_path == home.url_path:
        return
    chosen.run()
    st.stop()
