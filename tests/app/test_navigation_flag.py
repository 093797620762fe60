"""serve.py relies on one internal streamlit flag (`PagesManager.uses_pages_directory`, see
app/navigation.py). Setting a class attribute that no longer exists would silently succeed, so
a streamlit upgrade that renames it must fail here instead of quietly bringing back file names
in the sidebar on a first visit."""
from __future__ import annotations

import inspect

from streamlit.runtime import pages_manager


def test_streamlit_still_reads_the_pages_directory_flag() -> None:
    assert "uses_pages_directory" in vars(pages_manager.PagesManager)
    source = inspect.getsource(pages_manager.PagesManager)
    # streamlit decides the folder convention only while the flag is unset (None)
    assert "if PagesManager.uses_pages_directory is None" in source


def test_navigation_only_sets_the_flag(monkeypatch) -> None:
    from app import navigation

    monkeypatch.setattr(pages_manager.PagesManager, "uses_pages_directory", None)
    navigation.navigation_only()
    assert pages_manager.PagesManager.uses_pages_directory is False
