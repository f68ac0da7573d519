"""A feature whose optional package is missing names the extra that installs it."""

import pytest

from datafactors import DataError
from datafactors._optional import require


def test_missing_package_names_the_extra():
    with pytest.raises(DataError) as e:
        require("no_such_package_for_df.sub", "cleanlab", "label-quality scores")
    msg = str(e.value)
    assert "label-quality scores" in msg and "'no_such_package_for_df'" in msg
    assert "pip install 'datafactors[cleanlab]'" in msg


def test_present_package_is_returned():
    assert require("json", "core", "json").dumps([1]) == "[1]"
