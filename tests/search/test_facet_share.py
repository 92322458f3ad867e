"""A facet with a filter of its own: the matches without that filter are estimated
from the filter's share of the sample, or counted when the share is small."""

from django.http import QueryDict

from search import facets, query_store
from search.params import parse_params
from search.queries.text import parse_text
from search.results import search_uncached
from tests.conftest import empty_store


def own_filter_facets(query_string, monkeypatch, count_sent, keep_counts=False):
    """The facets of a search whose counts were not kept (unless `keep_counts`)."""
    params = parse_params(QueryDict(query_string), facets.filter_options())
    total = search_uncached(params).total_count
    if not keep_counts:
        empty_store("cache")
    real_count = query_store.count_matches

    def counting(queries):
        queries = list(queries)
        count_sent.extend(queries)
        return real_count(queries)

    monkeypatch.setattr(query_store, "count_matches", counting)
    counts, estimated = facets.facets_for(params, parse_text(params.q), total)
    return total, dict(counts["genre"]), estimated


def test_a_common_filter_is_scaled_from_its_share_without_a_count(catalogue, monkeypatch):
    sent = []
    total, genre, estimated = own_filter_facets("q=love&genre=drama", monkeypatch, sent)
    assert "genre" in estimated and sent == []
    # Scaled by total / (its share of the sample), the selected value counts the search.
    assert genre["drama"] == total


def test_a_rare_filter_is_counted(catalogue, monkeypatch):
    sent = []
    _, _, estimated = own_filter_facets("q=love&genre=western", monkeypatch, sent)
    assert "genre" in estimated and len(sent) == 1


def test_a_count_is_kept_for_the_next_visitor(catalogue, monkeypatch):
    sent = []
    _, counted, _ = own_filter_facets("q=love&genre=western", monkeypatch, [])
    _, again, _ = own_filter_facets("q=love&genre=western", monkeypatch, sent, keep_counts=True)
    assert sent == [] and again == counted


def test_a_facet_filtered_alone_shows_the_catalogues_exact_counts(catalogue, monkeypatch):
    _, genre, _ = own_filter_facets("genre=western", monkeypatch, [])
    assert genre == dict(facets.filter_options().facets["genre"])


def test_a_filter_clicked_on_a_broad_search_is_scaled_by_its_total_without_a_count(
    catalogue, monkeypatch
):
    options = facets.filter_options()
    love = search_uncached(parse_params(QueryDict("q=love"), options))
    sent = []
    monkeypatch.setattr(query_store, "count_matches", lambda qs: sent.extend(qs) or [0 for _ in qs])
    params = parse_params(QueryDict("q=love&genre=western"), options)
    facets.facets_for(params, parse_text(params.q), total=1)
    assert love.total_count >= facets.FACET_SAMPLE and sent == []
