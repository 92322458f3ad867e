"""Known-item searches on the bundled catalogue: a whole title or a person's full name
typed in the search box finds that film, or that person's films, first."""

import pytest

from tests.search.test_search import search, titles


@pytest.fixture(autouse=True)
def _catalogue(catalogue):
    return catalogue


@pytest.mark.parametrize("q", ["Scenic Route", "scenic route ", "SCENIC ROUTE."])
def test_a_title_typed_exactly_comes_before_the_same_title_with_an_article(q):
    # Scenic Route (2013) and The Scenic Route (1978) are both in the catalogue.
    assert titles(search(q=q))[:2] == ["Scenic Route", "The Scenic Route"]


def test_a_title_typed_with_its_article_comes_before_the_one_without():
    assert titles(search(q="The Scenic Route"))[0] == "The Scenic Route"
