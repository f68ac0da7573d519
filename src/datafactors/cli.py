"""The `datafactors` command line. Thin: parse, call the library, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._errors import DataError, DatafactorsError

app = typer.Typer(
    name="datafactors",
    help="Which training data to keep, how much more you need, and whether it generalizes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
recipes_app = typer.Typer(help="Small runnable reproductions of the papers' headline findings.", no_args_is_help=True)
app.add_typer(recipes_app, name="recipes")

out_console = Console(soft_wrap=True)  # long paths stay on one line when piped
err_console = Console(stderr=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same result).")]
Label = Annotated[str | None, typer.Option("--label", help="Label column of a file (default: label, y or target).")]


def _load(data: str, label: str | None):
    from .io import load

    return load(data, label=label)


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="YAML config (default: built-in MNIST-1D study).")] = None,
    engine: Annotated[str, typer.Option(help="Where trials run: local (process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="HOST:PORT of a Ray cluster (ray engine).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Finish an interrupted run folder.")] = None,
    out: Annotated[Path, typer.Option(help="Folder under which runs/<run-id>/ is created.")] = Path("runs"),
    quiet: Quiet = False,
) -> None:
    """Run the whole loop: score, select, train proxies, fit learning curves, write the report.

    Examples:

      datafactors run                      # MNIST-1D default study

      datafactors run study.yaml --out results/

      datafactors run --resume runs/20261126-101500-ab12cd
    """
    from ._progress import RichReporter
    from .experiment import run as run_experiment

    rep = RichReporter(err_console, quiet=quiet)
    try:
        res = run_experiment(config, out=out, resume=resume, engine=engine, address=address, reporter=rep)
    finally:
        rep.done()
    _print_summary(res)


def _print_summary(res) -> None:
    s = res.summary
    table = Table(title=f"Mean accuracy over seeds — {res.run_dir.name}", header_style="bold cyan")
    table.add_column("budget", justify="right")
    sets = sorted(s["eval_set"].unique()) if len(s) else []
    for es in sets:
        table.add_column(f"best on {es}", style="green")
        table.add_column(f"{es} acc", justify="right")
        table.add_column("random", justify="right", style="dim")
    for b in sorted(s["budget"].unique()) if len(s) else []:
        cells = [f"{b:.0%}"]
        for es in sets:
            g = s[(s.budget == b) & (s.eval_set == es)].sort_values("accuracy", ascending=False)
            rnd = g[g.strategy == "random"]["accuracy"]
            cells += [str(g.iloc[0].strategy), f"{g.iloc[0].accuracy:.3f}", f"{rnd.iloc[0]:.3f}" if len(rnd) else "-"]
        table.add_row(*cells)
    out_console.print(table)
    failed = f", [red]{res.n_failed} failed[/red]" if res.n_failed else ""
    out_console.print(f"{res.n_trials} trials{failed}. Run folder: [bold]{res.run_dir}[/bold]")
    if res.report is not None:
        out_console.print(f"Report: [bold]{res.report}[/bold]")


@app.command()
def score(
    data: Annotated[str, typer.Argument(help="Built-in name or a file (.csv .parquet .jsonl .npz).")],
    scores: Annotated[str, typer.Option("--scores", help="Comma-separated score names, e.g. el2n,grand,forgetting.")],
    out: Annotated[
        Path, typer.Option("--out", help="Parquet file to write (keyed by example id); ray engine: a new folder.")
    ],
    label: Label = None,
    learner: Annotated[str, typer.Option(help="Proxy model trained to record dynamics.")] = "mlp",
    seeds: Annotated[int, typer.Option(min=1, help="Independent proxy runs averaged.")] = 3,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs per proxy run.")] = 30,
    seed: Seed = 0,
    engine: Annotated[
        str, typer.Option(help="local, or ray: a folder of Parquet shards in, a folder of shards out (Ray Data).")
    ] = "local",
    address: Annotated[str | None, typer.Option(help="HOST:PORT of a Ray cluster (ray engine).")] = None,
    quiet: Quiet = False,
) -> None:
    """Score every example and write a Parquet table keyed by id.

    Example: datafactors score data.csv --scores el2n,forgetting,cartography --out scores.parquet

    Example: datafactors score shards/ --scores el2n,forgetting --engine ray --address 10.0.0.1:6379 --out scores/
    """
    if _sharded(engine, address):
        from .engines.ray_data import score_shards

        with err_console.status("scoring shards on Ray", spinner="dots") if not quiet else _nullctx():
            res = score_shards(
                data,
                scores,
                out,
                label=label,
                learner=learner,
                seeds=range(seed, seed + seeds),
                epochs=epochs,
                seed=seed,
                address=address,
            )
        out_console.print(
            f"wrote {res.n_out} rows x {len(res.columns) - 1} scores in {len(res.shards)} shards to [bold]{res.out}[/bold]"
        )
        return

    from .scores import compute
    from .store import atomic_write_parquet

    ds = _load(data, label)
    _check_out(out, ".parquet")
    with err_console.status("training proxies and scoring", spinner="dots") if not quiet else _nullctx():
        frame = compute(ds, scores, learner=learner, seeds=range(seed, seed + seeds), epochs=epochs, seed=seed)
    frame = frame.reset_index()
    frame["id"] = frame["id"].astype(str)
    atomic_write_parquet(frame, out)
    out_console.print(f"wrote {len(frame)} rows x {frame.shape[1] - 1} scores to [bold]{out}[/bold]")


@app.command("select")
def select_cmd(
    data: Annotated[str, typer.Argument(help="Built-in name or a file.")],
    strategy: Annotated[str, typer.Option("--strategy", help="Selector name (random, hardest, easiest, offset, ...).")],
    budget: Annotated[str, typer.Option("--budget", help="Count (3000) or fraction (0.3) to keep.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file with id, index, rank; ray engine: a new folder.")],
    scores: Annotated[Path | None, typer.Option("--scores", help="Scores Parquet from `datafactors score`.")] = None,
    score_col: Annotated[str | None, typer.Option("--score", help="Score column to select by.")] = None,
    offset: Annotated[float | None, typer.Option(help="Offset (count or fraction) for the offset strategy.")] = None,
    class_balanced: Annotated[bool, typer.Option("--class-balanced", help="Equal share per class.")] = False,
    group_balanced: Annotated[
        bool, typer.Option("--group-balanced", help="Equal share per group (the data's group column).")
    ] = False,
    embeddings: Annotated[
        Path | None,
        typer.Option(
            "--embeddings",
            help="Vectors for geometric strategies: .npy (n, d) in row order, or .parquet with an id column "
            "and numeric columns. Default: the data's features.",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Strategy option KEY=VALUE, repeatable (e.g. --param optimizer=stochastic)."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local, or ray: a folder of Parquet shards in, a folder of shards out (Ray Data).")
    ] = "local",
    address: Annotated[str | None, typer.Option(help="HOST:PORT of a Ray cluster (ray engine).")] = None,
    label: Label = None,
    seed: Seed = 0,
) -> None:
    """Select a subset and write its ids.

    Example: datafactors select data.csv --strategy hardest --score el2n --scores scores.parquet --budget 0.5 --out keep.parquet

    Example: datafactors select data.csv --strategy facility_location --embeddings emb.npy --budget 0.1 --param n_neighbors=16 --out keep.parquet
    """
    import numpy as np
    import pandas as pd

    from ._validation import parse_budget
    from .select import select
    from .store import atomic_write_parquet

    if _sharded(engine, address):
        from ._errors import ConfigError
        from .engines.ray_data import select_shards

        if embeddings is not None:
            raise ConfigError("--embeddings is not available with --engine ray")
        params = {} if score_col is None else {"score": score_col}
        if offset is not None:
            params["offset"] = int(offset) if float(offset).is_integer() and offset >= 1 else float(offset)
        params.update(_parse_params(param or []))
        res = select_shards(
            data,
            strategy,
            parse_budget(budget),
            out,
            scores=None if scores is None else _read_scores(scores),
            seed=seed,
            class_balanced=class_balanced,
            group_balanced=group_balanced,
            label=label,
            address=address,
            **params,
        )
        out_console.print(
            f"kept {res.n_out} of {res.n_rows} examples with {strategy!r} in {len(res.shards)} shards; "
            f"wrote [bold]{res.out}[/bold]"
        )
        return
    ds = _load(data, label)
    _check_out(out, ".parquet")
    b = parse_budget(budget)
    sc = None
    if scores is not None:
        if not scores.is_file():
            raise DataError(f"scores file not found: {scores}")
        try:
            sc = pd.read_parquet(scores)
        except Exception as e:  # pyarrow raises many types for corrupt files
            raise DataError(f"cannot read scores file {scores}: {type(e).__name__}") from None
        if "id" not in sc.columns:
            raise DataError(f"scores file {scores} has no 'id' column")
        sc["id"] = sc["id"].astype(str)
    params = {}
    if score_col is not None:
        params["score"] = score_col
    if offset is not None:
        params["offset"] = int(offset) if float(offset).is_integer() and offset >= 1 else float(offset)
    params.update(_parse_params(param or []))
    emb = None if embeddings is None else _read_embeddings(embeddings, ds)
    idx = select(
        ds,
        strategy,
        b,
        scores=sc,
        embeddings=emb,
        seed=seed,
        class_balanced=class_balanced,
        group_balanced=group_balanced,
        **params,
    )
    frame = pd.DataFrame({"id": ds.ids[idx].astype(str), "index": idx, "rank": np.arange(len(idx))})
    atomic_write_parquet(frame, out)
    out_console.print(f"kept {len(idx)} of {ds.n} examples with {strategy!r}; wrote [bold]{out}[/bold]")


def _parse_params(items: list[str]) -> dict:
    """``KEY=VALUE`` strings to a dict; values that read as int, float, none/true/false become those."""
    out: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise DataError(f"--param {item!r} must look like KEY=VALUE")
        low = text.strip().lower()
        value: object
        if low in ("none", "null"):
            value = None
        elif low in ("true", "false"):
            value = low == "true"
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    value = text
        out[key.strip()] = value
    return out


def _read_embeddings(path: Path, ds):
    """(n, d) float32 vectors from .npy (row order) or .parquet (aligned by an id column when present)."""
    import numpy as np

    if not path.is_file():
        raise DataError(f"embeddings file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(f"cannot read embeddings file {path}: {e}") from None
    elif suffix == ".parquet":
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises many types for corrupt files
            raise DataError(f"cannot read embeddings file {path}: {type(e).__name__}") from None
        if "id" in frame.columns:
            frame = frame.assign(id=frame["id"].astype(str)).set_index("id")
            missing = pd.Index(ds.ids.astype(str)).difference(frame.index)
            if len(missing):
                raise DataError(f"embeddings file {path} lacks {len(missing)} ids of the data, e.g. {missing[0]!r}")
            frame = frame.loc[ds.ids.astype(str)]
        numeric = frame.select_dtypes("number")
        if numeric.shape[1] == 0:
            raise DataError(f"embeddings file {path} has no numeric columns")
        arr = numeric.to_numpy(dtype=np.float32)
    else:
        raise DataError(f"embeddings file {path} must be .npy or .parquet, got {suffix or 'no suffix'!r}")
    if arr.ndim != 2 or len(arr) != ds.n:
        raise DataError(f"embeddings file {path} must hold a ({ds.n}, d) array to match the data, got {arr.shape}")
    return arr


@app.command()
def split(
    data: Annotated[str, typer.Argument(help="Built-in name or a file.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="Split name: random, stratified, group, cluster, easy_hard, compositional, length, crafted."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Parquet file with id and part.")],
    test_size: Annotated[float, typer.Option(help="In-distribution test fraction (of what is not held out).")] = 0.2,
    ood_size: Annotated[
        float | None, typer.Option(help="Share of examples to hold out (group, cluster, compositional, length).")
    ] = None,
    groups: Annotated[
        str | None, typer.Option(help="group: column naming each example's group (default: the group column).")
    ] = None,
    holdout: Annotated[str | None, typer.Option(help="group: comma-separated groups to hold out.")] = None,
    n_clusters: Annotated[int | None, typer.Option(help="cluster: k of k-means.")] = None,
    scores: Annotated[
        Path | None, typer.Option("--scores", help="easy_hard: scores Parquet (from `datafactors score`).")
    ] = None,
    score_col: Annotated[
        str | None, typer.Option("--score", help="easy_hard: score column (in --scores or the data).")
    ] = None,
    attributes: Annotated[str | None, typer.Option(help="compositional: comma-separated attribute columns.")] = None,
    length: Annotated[
        str | None, typer.Option(help="length: numeric or text column (default: non-zero feature span).")
    ] = None,
    val_size: Annotated[float | None, typer.Option(help="crafted: validation share, split across the folds.")] = None,
    folds: Annotated[int | None, typer.Option(help="crafted: number of folds across augmentation families.")] = None,
    label: Label = None,
    seed: Seed = 0,
) -> None:
    """Assign every example to train / test (/ OOD) parts.

    Examples:

      datafactors split data.csv --kind stratified --out splits.parquet

      datafactors split data.csv --kind group --groups domain --holdout news,web --out splits.parquet

      datafactors split data.csv --kind compositional --attributes modality,anatomy --out splits.parquet

      datafactors split data.csv --kind easy_hard --scores scores.parquet --score el2n --out splits.parquet
    """
    import inspect

    import pandas as pd

    from ._errors import ConfigError
    from .splits import REGISTRY
    from .splits import split as make_split
    from .store import atomic_write_parquet

    fn = REGISTRY.get(kind)
    ds = _load(data, label)
    _check_out(out, ".parquet")
    score_spec = None
    if scores is not None:
        sc = _read_scores(scores)
        col = score_col or next((c for c in sc.columns if c not in ("id", "label")), None)
        if col is None or col not in sc.columns:
            raise DataError(f"score column {col!r} not in {scores}; columns are: {', '.join(map(str, sc.columns))}")
        score_spec = sc.set_index("id")[col].rename(col)
    elif score_col is not None:
        score_spec = score_col
    given = {
        "ood_size": ("--ood-size", ood_size),
        "groups": ("--groups", groups),
        "holdout": ("--holdout", None if holdout is None else [h.strip() for h in holdout.split(",") if h.strip()]),
        "n_clusters": ("--n-clusters", n_clusters),
        "score": ("--score/--scores", score_spec),
        "attributes": ("--attributes", attributes),
        "length": ("--length", length),
        "val_size": ("--val-size", val_size),
        "folds": ("--folds", folds),
    }
    accepted = set(inspect.signature(fn).parameters)
    params = {}
    for key, (flag, value) in given.items():
        if value is None:
            continue
        if key not in accepted:
            raise ConfigError(f"{flag} does not apply to split kind {kind!r}")
        params[key] = value
    sp = make_split(ds, kind, seed=seed, test_size=test_size, **params)
    frame = pd.DataFrame({"id": ds.ids.astype(str), "part": sp.assignments(ds.n)})
    atomic_write_parquet(frame, out)
    counts = frame["part"].value_counts().to_dict()
    out_console.print(f"{counts}; wrote [bold]{out}[/bold]")


def _read_scores(path: Path):
    import pandas as pd

    if not path.is_file():
        raise DataError(f"scores file not found: {path}")
    try:
        sc = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises many types for corrupt files
        raise DataError(f"cannot read scores file {path}: {type(e).__name__}") from None
    if "id" not in sc.columns:
        raise DataError(f"scores file {path} has no 'id' column")
    sc["id"] = sc["id"].astype(str)
    return sc


@app.command("profile")
def profile_cmd(
    data: Annotated[str, typer.Argument(help="Built-in name or a file (.csv .parquet .jsonl .npz).")],
    label: Label = None,
    embed: Annotated[
        str | None,
        typer.Option("--embed", help="Text column to embed with the offline sentence encoder (all-MiniLM-L6-v2)."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Text column for vocabulary and concept counts (no embedding).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Parquet file to write the profile to.")] = None,
    test: Annotated[str | None, typer.Option("--test", help="Test set (same format) for coverage / novelty.")] = None,
    scores: Annotated[Path | None, typer.Option("--scores", help="Scores Parquet for the difficulty profile.")] = None,
    licence: Annotated[
        str | None, typer.Option("--licence", help="Licence column (default: licence / license).")
    ] = None,
    families: Annotated[
        str | None, typer.Option("--families", help="Comma-separated factor families (default: all).")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--near-dup-threshold", help="Cosine at or above which two examples are near duplicates.")
    ] = 0.95,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Measure dataset-level factors (size, balance, duplication, diversity, ...) and print them.

    Examples:

      datafactors profile mnist1d --out profile.parquet

      datafactors profile reviews.csv --label sentiment --embed text --licence license
    """
    from .factors import profile

    if out is not None:
        _check_out(out, ".parquet")
    if embed is not None and text is not None and embed != text:
        raise DataError(f"--embed {embed} and --text {text} name different columns; give one")
    with err_console.status("embedding text" if embed else "loading", spinner="dots") if not quiet else _nullctx():
        ds = _load_text(data, label, embed)
        test_ds = None if test is None else _load_text(test, label, embed)
    sc = None if scores is None else _read_scores(scores)
    with err_console.status("profiling", spinner="dots") if not quiet else _nullctx():
        prof = profile(
            ds,
            text=embed or text,
            test=test_ds,
            scores=sc,
            licence=licence,
            families=families,
            near_duplicate_threshold=threshold,
            seed=seed,
        )
    _print_profile(prof, ds.name)
    if out is not None:
        from .store import atomic_write_parquet

        atomic_write_parquet(prof, out)
        out_console.print(f"wrote {len(prof)} rows to [bold]{out}[/bold]")


def _load_text(data: str, label: str | None, embed: str | None):
    if embed is None:
        try:
            return _load(data, label)
        except DataError as e:
            if "no numeric feature columns" in str(e):
                raise DataError(f"{e}; or pass --embed <text column> to embed the text") from None
            raise
    from .featurize import read_text_table
    from .io import BUILTINS

    if data in BUILTINS:
        raise DataError(f"--embed needs a file with a text column; {data!r} is a built-in without text")
    return read_text_table(data, embed, label=label)


def _print_profile(prof, name: str) -> None:
    import math

    # Notes (how each number was computed) need a wide terminal; they are always in --out.
    with_notes = out_console.width >= 120
    with_text = bool((prof["text"] != "").any())
    table = Table(title=f"Profile of {name}", header_style="bold cyan")
    table.add_column("factor", no_wrap=True)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", justify="right", no_wrap=True)
    if with_text:
        table.add_column("", overflow="fold", max_width=16)
    if with_notes:
        table.add_column("note", style="dim", overflow="fold")
    for fam, g in prof.groupby("family", sort=False):
        table.add_row(f"[bold magenta]{fam}[/bold magenta]")
        for r in g.itertuples(index=False):
            v = r.value
            cells = [f"  {r.factor}", r.key, "—" if (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"]
            cells += [r.text] if with_text else []
            cells += [r.note] if with_notes else []
            table.add_row(*cells)
    out_console.print(table)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run folder.")]) -> None:
    """(Re)build report.html of a run folder.

    Example: datafactors report runs/20261126-101500-ab12cd
    """
    from .report import build_report
    from .store import RunStore

    RunStore(run_dir).manifest()
    path = build_report(run_dir)
    out_console.print(f"Report: [bold]{path}[/bold]")


@app.command()
def query(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    sql: Annotated[str, typer.Argument(help="SQL over tables trials, metrics, fits, curve_points.")],
) -> None:
    """Run SQL over a run's results.duckdb and print the rows.

    Example: datafactors query runs/X "SELECT strategy, avg(value) FROM trials JOIN metrics USING (trial_id)
    WHERE metric='accuracy' GROUP BY strategy"
    """
    from .store import RunStore

    store = RunStore(run_dir)
    store.manifest()
    with store:
        store.connect(read_only=True)
        frame = store.query(sql)
    table = Table(header_style="bold cyan")
    for c in frame.columns:
        table.add_column(str(c))
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(table)


@recipes_app.command("list")
def recipes_list() -> None:
    """List the recipes and the claim each one checks.

    Example: datafactors recipes list
    """
    from .recipes import REGISTRY

    table = Table(header_style="bold cyan")
    table.add_column("name")
    table.add_column("paper")
    table.add_column("claim")
    for name in REGISTRY:
        r = REGISTRY.get(name)
        table.add_row(name, r.paper, r.claim)
    out_console.print(table)


@recipes_app.command("run")
def recipes_run(
    name: Annotated[str, typer.Argument(help="Recipe name, or 'all'.")],
    seed: Seed = 0,
    quick: Annotated[bool, typer.Option(help="Smaller and faster (fewer seeds and epochs).")] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="Run folder to add the verdicts to (its recipes.json); its report.html is rebuilt to show them.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run a recipe (or all) and print claim / measured / held.

    Examples:

      datafactors recipes run data-diet

      datafactors recipes run calibration-bins --quick --run runs/20261126-101500-ab12cd

      datafactors recipes run all --quick --quiet
    """
    import time

    from .recipes import REGISTRY, save_verdicts
    from .recipes import run as run_recipe

    if run_dir is not None and not run_dir.is_dir():
        raise DataError(f"--run {run_dir} is not a run folder (no such directory)")
    names = REGISTRY.names() if name == "all" else [REGISTRY.get(name) and name]
    results, seconds = [], {}
    for n in names:
        t0 = time.perf_counter()
        with err_console.status(f"running recipe {n}", spinner="dots") if not quiet else _nullctx():
            res = run_recipe(n, seed=seed, quick=quick)
        seconds[n] = time.perf_counter() - t0
        results.append(res)
        verdict = "[green]held[/green]" if res.held else "[red]not held[/red]"
        out_console.print(f"[bold]{n}[/bold] — {verdict}\n  claim: {res.claim}")
        for k, v in res.measured.items():
            out_console.print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
        if run_dir is not None:  # after each recipe, so an interrupted `all` keeps what finished
            save_verdicts(res, run_dir, seed=seed, quick=quick, seconds={n: seconds[n]})
    if run_dir is not None:
        out_console.print(f"verdicts saved to [bold]{run_dir / 'recipes.json'}[/bold]")
        if (run_dir / "manifest.json").is_file():
            from .report import build_report

            out_console.print(f"Report: [bold]{build_report(run_dir)}[/bold]")
    if len(results) > 1:
        held = sum(r.held for r in results)
        color = "green" if held == len(results) else "yellow"
        out_console.print(f"[{color}]{held} of {len(results)} claims held[/{color}]")


def _sharded(engine: str, address: str | None) -> bool:
    """True for ``--engine ray`` on score/select: a folder of Parquet shards in, a folder of shards out."""
    from ._errors import ConfigError
    from .engines import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}. Known: {', '.join(ENGINES)}")
    if engine == "local" and address is not None:
        raise ConfigError("--address is only for the ray engine")
    return engine == "ray"


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _check_out(out: Path, suffix: str) -> None:
    if out.suffix.lower() != suffix:
        raise DataError(f"--out {out} must end in {suffix}")
    if out.exists() and out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name")
    if out.parent.exists() and not out.parent.is_dir():
        raise DataError(f"--out {out}: {out.parent} is a file, not a folder")
    if not out.parent.exists():
        raise DataError(f"--out {out}: folder {out.parent} does not exist")
    import os

    if not os.access(out.parent, os.W_OK):
        raise DataError(f"--out {out}: folder {out.parent} is not writable")


def main(argv: list[str] | None = None) -> int:
    """Entry point: DatafactorsError -> one line on stderr and exit code 2, never a traceback.

    Usage errors (unknown options, bad values) are Typer's own and also exit 2.
    """
    try:
        app(args=argv, prog_name="datafactors")
    except DatafactorsError as e:
        err_console.print(f"[bold red]error:[/bold red] {e}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
