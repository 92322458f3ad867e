"""One movie record: the fields a record may have, their validation, and the hash
fields derived from them (the normalised title and names that rank a typed whole title
or full name first)."""

import datetime
import math
import re

from search.queries.text import person_keys, title_keys
from search.store import TAG_SEPARATOR

FIELDS = (
    "id", "title", "year", "genre", "subgenres", "rating", "language", "country",
    "plot", "director", "cast", "wikipedia_url",
)  # fmt: skip
# Other spellings seen in exports.
ALIASES = {"subgenre": "subgenres", "actors": "cast", "url": "wikipedia_url"}
MIN_YEAR = 1870
MAX_TITLE = 300
MAX_TEXT = 200
MAX_PLOT = 10_000
MAX_LIST_ITEMS = 200
MAX_URL = 500
MAX_ID = 2**53


class RecordError(ValueError):
    """One record is invalid; the message is its reason."""


def max_year() -> int:
    return datetime.date.today().year + 1


CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)  # Unicode's Cc, less tab/newlines


def _has_control_chars(text):
    return CONTROL_CHARS.search(text) is not None


def _text(value, name, limit, required=False):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecordError(f"{name} must be text")
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise RecordError(f"{name} is longer than {limit} characters")
    if _has_control_chars(text):
        raise RecordError(f"{name} contains control characters")
    return text


def _list(value, name):
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = value.split("|")
    elif isinstance(value, list):
        items = value
    else:
        raise RecordError(f"{name} must be a list or a '|'-separated string")
    if len(items) > MAX_LIST_ITEMS:
        raise RecordError(f"{name} has more than {MAX_LIST_ITEMS} entries")
    cleaned = []
    for item in items:
        text = _text(item, name, MAX_TEXT)
        if text and "|" in text:
            raise RecordError(f"{name} entries cannot contain '|'")
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned


def _int(value, name):
    if isinstance(value, bool):
        raise RecordError(f"{name} must be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise RecordError(f"{name} must be a whole number, not {str(value)[:40]!r}")


DERIVED_FIELDS = ("title_key", "director_key", "cast_key")


def derived_fields(title: str, director: str | None, cast: list[str]) -> dict[str, str | None]:
    """The hash fields computed from a movie's title, director and cast list (for
    ranking a typed whole title or full name first); None where there is nothing."""
    return {
        "title_key": "|".join(title_keys(title)) or None,
        "director_key": "|".join(person_keys([director or ""])) or None,
        "cast_key": "|".join(person_keys(cast)) or None,
    }


def derived_fields_of_hash(movie: dict[str, str]) -> dict[str, str | None]:
    """`derived_fields` of a stored movie hash (its cast is "a|b|c")."""
    cast = movie.get("cast")
    return derived_fields(movie.get("title") or "", movie.get("director"),
                          cast.split(TAG_SEPARATOR) if cast else [])  # fmt: skip


def validate(raw: object) -> dict:
    """A raw record (dict from JSON or CSV) -> the movie's hash fields, or RecordError."""
    if not isinstance(raw, dict):
        raise RecordError("a record must be a JSON object")
    record = {}
    for key, value in raw.items():
        name = ALIASES.get(key, key)
        if name not in FIELDS:
            raise RecordError(f"unknown field {str(key)[:40]!r}")
        record[name] = value

    if record.get("id") in (None, ""):
        raise RecordError("id is required")
    movie_id = _int(record["id"], "id")
    if not 0 < movie_id < MAX_ID:
        raise RecordError("id must be a positive whole number")

    title = _text(record.get("title"), "title", MAX_TITLE, required=True)

    year = record.get("year")
    if year in (None, ""):
        year = None
    else:
        year = _int(year, "year")
        if not MIN_YEAR <= year <= max_year():
            raise RecordError(f"year {year} is outside {MIN_YEAR}-{max_year()}")

    rating = record.get("rating")
    if rating in (None, ""):
        rating = None
    else:
        try:
            rating = float(rating)
        except (TypeError, ValueError):
            raise RecordError(f"rating must be a number, not {str(rating)[:40]!r}") from None
        if isinstance(record.get("rating"), bool) or math.isnan(rating) or not 0 <= rating <= 10:
            raise RecordError("rating must be between 0 and 10")

    genre = _text(record.get("genre"), "genre", MAX_TEXT)
    subgenres = _list(record.get("subgenres"), "subgenres")
    cast = _list(record.get("cast"), "cast")
    url = _text(record.get("wikipedia_url"), "wikipedia_url", MAX_URL)
    if url and not url.startswith(("https://", "http://")):
        raise RecordError("wikipedia_url must be an http(s) address")
    for name in ("genre", "language", "country"):
        value = _text(record.get(name), name, MAX_TEXT)
        if value and "|" in value:
            raise RecordError(f"{name} cannot contain '|'")

    director = _text(record.get("director"), "director", MAX_TEXT)
    return {
        "id": movie_id,
        "title": title,
        "year": year,
        "genre": genre.lower() if genre else None,
        "subgenre": "|".join(s.lower() for s in subgenres) or None,
        "rating": None if rating is None else round(rating, 1),
        "language": _text(record.get("language"), "language", MAX_TEXT),
        "country": _text(record.get("country"), "country", MAX_TEXT),
        "plot": _text(record.get("plot"), "plot", MAX_PLOT),
        "director": director,
        "cast": "|".join(cast) or None,
        "wikipedia_url": url,
    } | derived_fields(title, director, cast)
