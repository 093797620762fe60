"""One parser module per publication. Each exposes

    parse(paths: list[pathlib.Path], source: etl.manifest.Source, geo: etl.geocontext.GeoContext)
        -> etl.staged.Staged

and raises `etl.errors.SourceError` (naming file, row and column) on bad input. Parsers never
write anything: the build step owns the warehouse.
"""
