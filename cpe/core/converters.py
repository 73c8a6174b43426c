"""URL converters shared by the apps' URLconfs."""

from __future__ import annotations


class YearConverter:
    """A study year in a URL: four digits from 1900 to 2099. Anything else is simply not a
    page (404), rather than a year the rules must then explain or a database must refuse."""

    regex = "(?:19|20)[0-9]{2}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
