"""The dashboard's Python side: read-only queries, pure figure builders, the disclosure view and
small streamlit helpers shared by `dashboard.py` and `pages/`.

Import direction: pages -> app -> (methods, warehouse file). Nothing here imports `etl/`; the
warehouse schema is the contract between the two.
"""
