"""police.uk street-level crime files (a package: the module is being split; see read.py)."""
from etl.parsers.police_uk.read import (  # noqa: F401 - the parser's public names
    CRIME_TYPES,
    HEADER,
    MAX_MEMBER_BYTES,
    _indicators,
    aggregate_files,
    discover,
    district_key,
    extract_member,
    parse,
    short_months,
)
