"""Nothing in the library imports ray unless the ray engine is chosen.

Each check runs in a fresh interpreter, since this test process may have imported ray
for other tests.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from dfcli_helpers import cli_env


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env=cli_env()
    )


def test_library_does_not_import_ray():
    proc = _run(
        """
        import sys
        import datafactors
        datafactors.scores; datafactors.select; datafactors.experiment; datafactors.engines
        import datafactors.cli
        import datafactors.engines.ray_, datafactors.engines.ray_data  # their imports of ray are inside functions
        import datafactors.experiment.sharded
        from datafactors.engines import make_engine
        make_engine("local").close()
        leaked = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
        print(leaked)
        sys.exit(1 if leaked else 0)
        """
    )
    assert proc.returncode == 0, f"ray was imported: {proc.stdout}{proc.stderr}"


def test_score_help_does_not_import_ray():
    proc = _run(
        """
        import sys
        from datafactors.cli import main
        try:
            main(["score", "--help"])
        except SystemExit:
            pass
        sys.exit(1 if "ray" in sys.modules else 0)
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--engine" in proc.stdout and "--address" in proc.stdout


def test_unknown_engine_is_a_config_error_without_ray():
    proc = _run(
        """
        import sys
        from datafactors.cli import main
        codes = [
            main(["score", "x", "--scores", "el2n", "--out", "o", "--engine", "dask"]),
            main(["select", "x", "--strategy", "random", "--budget", "1", "--out", "o", "--engine", "dask"]),
        ]
        print(codes)
        sys.exit(0 if codes == [2, 2] and "ray" not in sys.modules else 1)
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.count("unknown engine 'dask'") == 2
