"""Ties are broken by movie id on every ranked and sorted page, so a page holds the same
films on every node whatever order that node indexed them in (a replica resynced from a
snapshot numbers its documents anew)."""

import json
import random

import pytest
from django.core.management import call_command
from django.http import QueryDict

from search.facets import filter_options
from search.params import parse_params
from search.queries import ft
from search.queries.ft import FtQuery
from search.ranking import TIE_BREAKER_FIELD, sort_keys
from search.results import run_search

pytestmark = pytest.mark.usefixtures("catalogue")
WORD = "zyxwvutsr"  # in no bundled film


def import_twins(tmp_path, ids):
    """Films alike in everything but their id, imported in the order of `ids`."""
    path = tmp_path / "twins.jsonl"
    lines = [json.dumps({"id": i, "title": f"Twin {WORD}", "year": 2001, "genre": "drama",
                         "plot": f"The {WORD} twins."}) for i in ids]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    call_command("import_movies", str(path), verbosity=0)


def found_ids(**params):
    query = QueryDict(mutable=True)
    query.update(params)
    return [int(m.id) for m in run_search(parse_params(query, filter_options())).movies]


def test_films_tied_in_relevance_come_in_id_order_whatever_order_they_were_indexed(
    tmp_path, scratch_ids
):
    ids = scratch_ids(4)
    import_twins(tmp_path, reversed(ids))
    assert found_ids(q=f"{WORD} ") == ids


def test_films_tied_on_every_sort_key_come_in_id_order(tmp_path, scratch_ids):
    ids = scratch_ids(4)
    import_twins(tmp_path, reversed(ids))
    assert found_ids(q=f"{WORD} ", sort="year_desc") == ids
    assert found_ids(q=f"{WORD} ", sort="title_asc") == ids


def test_pages_of_tied_films_neither_repeat_nor_skip_one(tmp_path, scratch_ids):
    ids = scratch_ids(25)
    import_twins(tmp_path, random.Random(3).sample(ids, len(ids)))
    pages = [found_ids(q=f"{WORD} ", size="10", page=str(n)) for n in (1, 2, 3)]
    assert [i for page in pages for i in page] == ids


def test_every_sort_and_the_ranked_page_end_with_the_movie_id():
    assert sort_keys("year_desc")[-1] == (TIE_BREAKER_FIELD, True)
    args = ft.ranked_args(FtQuery("x", limit=5, return_fields=("title",)))
    assert args[args.index("SORTBY") : args.index("SORTBY") + 6] == [
        "SORTBY", 4, "@__score", "DESC", f"@{TIE_BREAKER_FIELD}", "ASC",
    ]  # fmt: skip
    assert args.index("LOAD") > args.index("SORTBY")  # the page's rows only


def test_serve_rebuilds_a_movie_index_built_without_the_tie_breaker(monkeypatch, capsys):
    from config.management.commands.serve import Command
    from search import indexing, store

    with monkeypatch.context() as older_release:
        schema = tuple(f for f in store.movie_schema() if f.name != TIE_BREAKER_FIELD)
        older_release.setattr(store, "movie_schema", lambda: schema)
        old = store.create_versioned_index(max(v for v, _ in store.index_versions()) + 1)
    store.wait_until_indexed(old)
    store.point_alias(old)
    for _, name in store.index_versions():
        if name != old:
            store.drop_index_keep_documents(name)
    assert indexing.ensure_indexes().outdated == [old]
    Command().prepare_search()
    live = store.live_index_name()
    assert live != old and not indexing.schema_outdated(live)
    assert "Rebuilding" in capsys.readouterr().out
    assert found_ids(q="godfather ")  # ranked pages sort by the tie breaker again
