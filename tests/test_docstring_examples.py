"""Every ``Examples`` block in the package's docstrings runs and prints what it shows.

The docstrings are the first documentation a user reads (``help(df.select.select)``);
an example that no longer runs is a defect. Examples marked ``# doctest: +SKIP`` (ones
that train for minutes or need a cluster) are not run.
"""

import doctest
import importlib
import pkgutil

import pytest

import datafactors

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(datafactors.__path__, prefix="datafactors.")
    if not m.name.endswith("__main__")
)


def test_the_walk_finds_the_package():
    # a broken walk would make every case below vanish and the file pass vacuously
    assert len(MODULES) > 100 and "datafactors.augment.crafted" in MODULES and "datafactors.select.exemplars" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} docstring examples in {name} failed (output above)"
    )
