"""The `datafactors` command line. Thin: parse, call the library, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ._errors import DatafactorsError
from ._printing import (
    Activity,
    print_frame,
    print_profile,
    print_recipe_result,
    print_recipes,
    print_scoreboard,
    print_summary,
)

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
Address = Annotated[str | None, typer.Option(help="HOST:PORT of a Ray cluster (ray engine).")]
Text = Annotated[
    str | None,
    typer.Option(
        "--text",
        help="Text column: each example is this text, embedded offline (all-MiniLM-L6-v2). Embeddings are cached "
        "per text under $DATAFACTORS_CACHE (default ~/.cache/datafactors); delete that folder to clear it.",
    ),
]
ShardEngine = Annotated[
    str, typer.Option(help="local, or ray: a folder of shards in, a folder of shards out (Ray Data).")
]
Backend = Annotated[
    str,
    typer.Option(
        "--text-backend",
        help="With --text: the encoder's runtime: torch (exact, default), onnx (ONNX Runtime) or torch-bf16 "
        "(bfloat16, cosine >= 0.9999 to torch); each is cached separately.",
    ),
]


def _note(text: str) -> None:
    """A dim line on stderr (which columns a loader used as features)."""
    err_console.print(text, style="dim", highlight=False, soft_wrap=True)


def _activity(text: str, quiet: bool = False) -> Activity:
    """A spinner line, and a texts/s bar while text is encoded (``.progress`` is the encoder's callback)."""
    return Activity(err_console, text, quiet=quiet)


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="YAML config (default: built-in MNIST-1D study).")] = None,
    engine: Annotated[str, typer.Option(help="Where trials run: local (process pool) or ray.")] = "local",
    address: Address = None,
    resume: Annotated[Path | None, typer.Option(help="Finish an interrupted run folder.")] = None,
    out: Annotated[Path, typer.Option(help="Folder under which runs/<run-id>/ is created.")] = Path("runs"),
    text: Text = None,
    text_backend: Annotated[
        str | None,
        typer.Option(
            "--text-backend", help="The encoder's runtime: torch, onnx or torch-bf16 (default: the config's)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run the whole loop: score, select, train proxies, fit learning curves, write the report.

    Examples:

      datafactors run                      # MNIST-1D default study

      datafactors run study.yaml --out results/

      datafactors run --resume runs/20261126-101500-ab12cd

      datafactors run corpus.yaml --text text     # the config's file dataset, its text column embedded
    """
    from ._progress import RichReporter
    from .experiment import run as run_experiment

    rep = RichReporter(err_console, quiet=quiet)
    try:
        res = run_experiment(
            config, out=out, resume=resume, engine=engine, address=address, reporter=rep, text=text,
            text_backend=text_backend,
        )  # fmt: skip
    finally:
        rep.done()
    _print_summary(res)


def _print_summary(res) -> None:
    print_summary(res.summary, res.run_dir.name, out_console)
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
    engine: ShardEngine = "local",
    address: Address = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Score option SCORER.KEY=VALUE, repeatable; a bare KEY=VALUE when one score is named "
            "(e.g. --param aflite.tau=0.8).",
        ),
    ] = None,
    text: Text = None,
    text_backend: Backend = "torch",
    quiet: Quiet = False,
) -> None:
    """Score every example and write a Parquet table keyed by id.

    Example: datafactors score data.csv --scores el2n,forgetting,cartography --out scores.parquet

    Example: datafactors score data.csv --scores aflite --param tau=0.8 --out scores.parquet

    Example: datafactors score shards/ --scores el2n,forgetting --engine ray --address 10.0.0.1:6379 --out scores/

    Example: datafactors score corpus.jsonl --text text --label category --scores el2n --out scores.parquet
    """
    from .experiment.commands import score_command

    with _activity("scoring", quiet) as act:
        res = score_command(
            data,
            scores,
            out,
            label=label,
            learner=learner,
            seeds=seeds,
            epochs=epochs,
            seed=seed,
            params=param or [],
            engine=engine,
            address=address,
            text=text,
            text_backend=text_backend,
            notify=_note,
            progress=act.progress,
        )
    shards = f" in {res.n_shards} shards" if res.n_shards is not None else ""
    out_console.print(f"wrote {res.n_rows} rows x {res.n_scores} scores{shards} to [bold]{res.out}[/bold]")


@app.command("select")
def select_cmd(
    data: Annotated[str, typer.Argument(help="Built-in name, a file, or a folder of shards.")],
    strategy: Annotated[str, typer.Option("--strategy", help="Selector name (random, hardest, minhash_dedup, ...).")],
    budget: Annotated[
        str | None, typer.Option("--budget", help="Count (3000) or fraction (0.3) to keep; filters: omit to keep all.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File with id, index, rank (.parquet, .jsonl, .csv or .tsv); ray engine: a new folder."
        ),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write the kept rows with all their columns (.jsonl .parquet .csv; shards in: a folder)."
        ),
    ] = None,
    order: Annotated[str, typer.Option("--order", help="Row order of --export: input or pick.")] = "input",
    with_scores: Annotated[bool, typer.Option("--with-scores", help="Add the --scores columns to --export.")] = False,
    clusters: Annotated[
        Path | None, typer.Option("--clusters", help="minhash_dedup: Parquet of the near-duplicate clusters.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Target of a target-aware selector (decontaminate, retrieve): a data file (its rows), "
            "an .npy (m, d) array of embeddings, or ids of rows of DATA (.txt one per line, or a table "
            "with only an id column).",
        ),
    ] = None,
    text: Text = None,
    text_backend: Backend = "torch",
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
    engine: ShardEngine = "local",
    address: Address = None,
    label: Label = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Select a subset and write its ids (--out) and/or the kept rows themselves (--export).

    Example: datafactors select data.csv --strategy hardest --score el2n --scores scores.parquet --budget 0.5 --out keep.parquet

    Example: datafactors select data.csv --strategy facility_location --embeddings emb.npy --budget 0.1 --param n_neighbors=16 --out keep.parquet

    Example: datafactors select corpus.jsonl --text text --strategy minhash_dedup --export kept.jsonl --clusters clusters.parquet
    """
    from .experiment.commands import select_command

    with _activity("selecting", quiet) as act:
        res = select_command(
            data,
            strategy,
            budget,
            out,
            scores=scores,
            score=score_col,
            offset=offset,
            class_balanced=class_balanced,
            group_balanced=group_balanced,
            embeddings=embeddings,
            params=param or [],
            label=label,
            seed=seed,
            engine=engine,
            address=address,
            text=text,
            text_backend=text_backend,
            export=export,
            order=order,
            with_scores=with_scores,
            clusters=clusters,
            target=target,
            notify=_note,
            progress=act.progress,
        )
    shards = f" in {res.n_shards} shards" if res.n_shards is not None else ""
    wrote = ", ".join(map(str, res.written or [res.out]))
    out_console.print(
        f"kept {res.n_kept} of {res.n_rows} examples with {res.strategy!r}{shards}; wrote [bold]{wrote}[/bold]"
    )


@app.command("augment")
def augment_cmd(
    data: Annotated[str, typer.Argument(help="Built-in name or a file (.csv .parquet .jsonl .npz).")],
    name: Annotated[
        str, typer.Option("--name", help="Augmentation: targeted, generic, crafted, dm or dwa (docs/augment.md).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="File of the new rows with all their columns (.jsonl .parquet .csv).")
    ],
    append: Annotated[bool, typer.Option("--append", help="Write the original rows first, then the new ones.")] = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Augmentation option KEY=VALUE, repeatable; a comma-separated VALUE is a list "
            "(e.g. --param columns=spurious_0,spurious_1 --param copies=2).",
        ),
    ] = None,
    label: Label = None,
    seed: Seed = 0,
) -> None:
    """Make new rows (augmented copies or synthetic examples); each id says where its row came from.

    Example: datafactors augment data.csv --name targeted --param columns=background --append --out augmented.parquet

    Example: datafactors augment digits --name crafted --param family=shift --param copies=2 --out shifted.jsonl

    Example: datafactors augment digits --name dwa --param ipc=10 --out synthetic.parquet
    """
    from .experiment.commands import augment_command

    res = augment_command(data, name, out, params=param or [], append=append, label=label, seed=seed, notify=_note)
    kept = f" after the {res.n_rows} original rows" if res.n_out > res.n_new else ""
    out_console.print(f"made {res.n_new} rows with {res.name!r} from {res.n_rows}{kept}; wrote [bold]{res.out}[/bold]")


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
    text: Text = None,
    text_backend: Backend = "torch",
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Assign every example to train / test (/ OOD) parts.

    Examples:

      datafactors split data.csv --kind stratified --out splits.parquet

      datafactors split data.csv --kind group --groups domain --holdout news,web --out splits.parquet

      datafactors split data.csv --kind compositional --attributes modality,anatomy --out splits.parquet

      datafactors split data.csv --kind easy_hard --scores scores.parquet --score el2n --out splits.parquet

      datafactors split corpus.jsonl --text text --kind cluster --ood-size 0.2 --out splits.parquet
    """
    from .experiment.commands import split_command

    options = {
        "ood_size": ("--ood-size", ood_size),
        "groups": ("--groups", groups),
        "holdout": ("--holdout", holdout),
        "n_clusters": ("--n-clusters", n_clusters),
        "attributes": ("--attributes", attributes),
        "length": ("--length", length),
        "val_size": ("--val-size", val_size),
        "folds": ("--folds", folds),
    }
    with _activity("splitting", quiet) as act:
        res = split_command(
            data,
            kind,
            out,
            test_size=test_size,
            options=options,
            scores=scores,
            score=score_col,
            label=label,
            seed=seed,
            text=text,
            text_backend=text_backend,
            notify=_note,
            progress=act.progress,
        )
    out_console.print(f"{res.counts}; wrote [bold]{res.out}[/bold]")


@app.command("profile")
def profile_cmd(
    data: Annotated[str, typer.Argument(help="Built-in name or a file (.csv .parquet .jsonl .npz).")],
    label: Label = None,
    text: Text = None,
    text_backend: Backend = "torch",
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="With --text: count vocabulary and concepts only, no embedding.")
    ] = False,
    embed: Annotated[str | None, typer.Option("--embed", help="Deprecated: use --text.", hidden=True)] = None,
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
    minhash_threshold: Annotated[
        float,
        typer.Option(
            "--minhash-threshold",
            help="With --test and --text: estimated Jaccard at or above which a test text is contaminated.",
        ),
    ] = 0.8,
    contamination_cosine: Annotated[
        float | None,
        typer.Option(
            "--contamination-cosine",
            help="With --test and no text: cosine at or above which a test row is contaminated "
            "(default: --near-dup-threshold).",
        ),
    ] = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Measure dataset-level factors (size, balance, duplication, diversity, ...) and print them.

    Examples:

      datafactors profile mnist1d --out profile.parquet

      datafactors profile reviews.csv --label sentiment --text text --licence license

      datafactors profile reviews.csv --text text --no-embed
    """
    from .experiment.commands import profile_command

    with _activity("profiling", quiet) as act:
        res = profile_command(
            data,
            label=label,
            text=text,
            text_backend=text_backend,
            embed=not no_embed,
            embed_alias=embed,
            out=out,
            test=test,
            scores=scores,
            licence=licence,
            families=families,
            near_duplicate_threshold=threshold,
            minhash_threshold=minhash_threshold,
            contamination_cosine=contamination_cosine,
            seed=seed,
            notify=_note,
            progress=act.progress,
        )
    print_profile(res.profile, res.name, out_console)
    if res.out is not None:
        out_console.print(f"wrote {len(res.profile)} rows to [bold]{res.out}[/bold]")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run folder.")]) -> None:
    """(Re)build report.html of a run folder.

    Example: datafactors report runs/20261126-101500-ab12cd
    """
    from .experiment.commands import report_command

    path = report_command(run_dir)
    out_console.print(f"Report: [bold]{path}[/bold]")


@app.command()
def query(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    sql: Annotated[
        str,
        typer.Argument(
            help="SQL over tables trials, metrics, fits, curve_points and the run's Parquet files "
            "(scores, selections, predictions, profile, ...), each a view named by its file stem."
        ),
    ],
) -> None:
    """Run SQL over a run's results and Parquet tables and print the rows; nothing outside the run is reachable.

    Example: datafactors query runs/X "SELECT strategy, avg(value) FROM trials JOIN metrics USING (trial_id)
    WHERE metric='accuracy' GROUP BY strategy"
    """
    from .experiment.commands import query_command

    print_frame(query_command(run_dir, sql), out_console)


@app.command()
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    view: Annotated[
        str | None,
        typer.Option(
            "--view",
            help="hardest, easiest, never_learned, cartography, label_issues, duplicates, outliers, dropped, kept, "
            "or a key from --list (hardest/el2n, ...).",
        ),
    ] = None,
    score: Annotated[str | None, typer.Option("--score", help="hardest / easiest: the score column.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="cartography: hard-to-learn, ambiguous or easy.")
    ] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="dropped / kept: the strategy.")] = None,
    budget: Annotated[
        str | None, typer.Option("--budget", help="dropped / kept: the budget (0.25, 25%, 3000).")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many examples.")] = 10,
    list_views: Annotated[bool, typer.Option("--list", help="List the run's example views.")] = False,
) -> None:
    """Print the examples behind a score or a selection: texts, image thumbnails, signals, feature values.

    Examples:

      datafactors show runs/X --view hardest --score el2n --top 10

      datafactors show runs/X --view cartography --region ambiguous

      datafactors show runs/X --view dropped --strategy el2n_hardest --budget 0.25

      datafactors show runs/X --list
    """
    from ._printing import print_examples, print_views
    from .report import examples
    from .report import list_views as run_views

    if list_views or view is None:
        print_views(run_views(run_dir), out_console)
        return
    frame = examples(run_dir, view=view, score=score, top=top, region=region, strategy=strategy, budget=budget)
    print_examples(frame, out_console)


@recipes_app.command("list")
def recipes_list() -> None:
    """List the recipes and the claim each one checks.

    Example: datafactors recipes list
    """
    from .recipes import REGISTRY

    print_recipes([REGISTRY.get(n) for n in REGISTRY], out_console)


@recipes_app.command("run")
def recipes_run(
    name: Annotated[str, typer.Argument(help="Recipe name, or 'all'.")],
    seed: Seed = 0,
    quick: Annotated[
        bool, typer.Option(help="Smaller and faster (2 seeds, fewer epochs); still prints intervals.")
    ] = False,
    controls: Annotated[
        bool, typer.Option(help="Also run each recipe's negative control (the mechanism removed).")
    ] = True,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="Run folder to add the verdicts to (its recipes.json); its report.html is rebuilt to show them.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the scoreboard as JSON (e.g. scoreboard.json).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run a recipe (or all) and its negative control; print each verdict with its interval, then the scoreboard.

    Examples:

      datafactors recipes run data-diet

      datafactors recipes run all --out scoreboard.json

      datafactors recipes run calibration-bins --quick --run runs/20261126-101500-ab12cd

      datafactors recipes run all --quick --no-controls --quiet
    """
    from .experiment.commands import recipes_command

    def show(res) -> None:
        print_recipe_result(res, out_console)

    def running(n: str):
        return _activity(f"running recipe {n}", quiet)

    res = recipes_command(
        name, seed=seed, quick=quick, run_dir=run_dir, controls=controls, out=out, on_result=show, running=running
    )
    print_scoreboard(res.scoreboard, out_console)
    if res.scoreboard_path is not None:
        out_console.print(f"scoreboard saved to [bold]{res.scoreboard_path}[/bold]")
    if res.verdicts is not None:
        out_console.print(f"verdicts saved to [bold]{res.verdicts}[/bold]")
    if res.report is not None:
        out_console.print(f"Report: [bold]{res.report}[/bold]")
    held = sum(r.held for r in res.results)
    failed = [c.name for c in res.controls if c.held]
    color = "green" if held == len(res.results) and not failed else "yellow"
    line = f"[{color}]{held} of {len(res.results)} claims held"
    if res.controls:
        line += (
            f"; {len(res.controls) - len(failed)} of {len(res.controls)} negative controls not held, as they should be"
        )
    out_console.print(line + f"[/{color}]")
    if failed:
        out_console.print(
            f"[red]controls that came out held (the claim row is not evidence): {', '.join(failed)}[/red]"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point: DatafactorsError -> one line on stderr and exit code 2, never a traceback.

    Usage errors (unknown options, bad values) are Typer's own and also exit 2.
    """
    try:
        app(args=argv, prog_name="datafactors")
    except DatafactorsError as e:
        from rich.markup import escape

        # the message is plain text: "[indices]" in it is not Rich markup
        err_console.print(f"[bold red]error:[/bold red] {escape(str(e))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
