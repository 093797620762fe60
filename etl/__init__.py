"""The refresh: fetch published files, parse and validate them, build and swap the warehouse.

Imports: pandas, duckdb, pandera, geopandas. Never streamlit, never `app/` or `pages/`:
the warehouse schema (`etl/schema.sql`) is the only contract with the dashboard.
"""
