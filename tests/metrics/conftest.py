import pytest

from tests.metrics._data import make_scores


@pytest.fixture
def data():
    return make_scores(400)
