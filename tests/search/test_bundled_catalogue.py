"""The bundled catalogue imports whole, and the filter counts are the dataset's own."""

import collections

from search import importer, query_store, store
from search.facets import filter_options
from search.params import FACET_LABELS
from search.records import validate
from tests.search.conftest import BUNDLED


def test_every_bundled_film_is_valid_and_indexed(catalogue):
    summary = importer.import_file(BUNDLED, dry_run=True)
    assert summary.read == len(catalogue)  # one record a line
    assert [str(r) for r in summary.rejected] == []
    assert store.movie_count() == len(catalogue)
    # Record 28356 once carried leaked Wikipedia CSS in its title and was rejected.
    assert store.get_movie(28356)["title"] == "Naked Gun 33⅓: The Final Insult"


def dataset_facets(records):
    """Each facet's value -> count over the file, normalised as the importer stores it."""
    counts = {facet: collections.Counter() for facet in FACET_LABELS}
    for record in map(validate, records):
        for facet, counter in counts.items():
            counter.update(query_store.tag_values(facet, record.get(facet)))
    return counts


def test_every_filter_count_equals_the_datasets(catalogue):
    expected = dataset_facets(catalogue)
    assert expected["genre"]["comedy"] > 0
    options = filter_options()
    for facet, counter in expected.items():
        assert dict(options.facets[facet]) == dict(counter), facet
    years = sorted({r["year"] for r in catalogue if r.get("year")})
    assert tuple(options.years) == (years[0], years[-1])
