"""``kg extract PATH… [--pipeline NAME|CFG] [--n-process N] [--executor ray [--address auto]]``.

Text → triples with provenance.

Reads text files, JSON Lines and CSV (files or folders), runs the extraction pipeline with
``nlp.pipe`` batching and a progress bar, and writes the triples into the store, each with its
provenance. Unchanged documents are skipped on re-runs; changed ones are replaced; those of
files deleted from a folder are kept unless ``--prune``. Every file of a folder that is not
read (binary, not valid UTF-8, hidden, a link to a folder…) is listed with the reason on
stderr, and counted in the summary line (exit code 0: the other files were extracted). A
problem with a file named on the command line, or a malformed JSONL/CSV file, is an error
(exit code 2) before anything is written.
``--executor ray`` runs the pipeline on Ray workers (this process stays the one writer; see
:mod:`kg_engine.extraction.distributed`); ``--n-process`` then caps the number of workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, open_kg, user_errors
from kg_engine.errors import ConfigError


def _parse_set(items: list[str]) -> dict[str, object]:
    import json

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"--set {item!r}: expected SECTION.KEY=VALUE (e.g. rdf.threshold=0.7)")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def extract(
    paths: Annotated[list[Path], typer.Argument(help="text/JSONL/CSV files or folders")],
    pipeline: Annotated[
        str, typer.Option(help="pipeline config name (pipelines/NAME.cfg), .cfg path, or "
                          "spaCy pipeline name/folder")
    ] = "default",
    n_process: Annotated[int, typer.Option("--n-process", help="worker processes")] = 1,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="documents per batch")
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="JSONL field / CSV column with the text")
    ] = "text",
    id_field: Annotated[str, typer.Option(help="JSONL field / CSV column with the id")] = "id",
    paragraphs: Annotated[
        bool, typer.Option("--paragraphs", help="one document per paragraph of text files")
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="config override SECTION.KEY=VALUE (repeatable)"),
    ] = None,
    link: Annotated[
        bool, typer.Option("--link/--no-link", help="link mentions to entities already in "
                           "the graph by their labels")
    ] = False,
    executor: Annotated[
        str, typer.Option(help="local (this machine's processes) or ray (Ray workers; "
                          "pip install 'kg-engine\\[ray]')")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster with --executor ray: auto (the running "
                                 "one) or HOST:PORT; default: start Ray on this machine")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="remove what was extracted from files since "
                           "deleted from the folders given")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Extract entities and relations from text into the graph (with provenance)."""
    with user_errors():
        if n_process < 1:
            raise ConfigError(f"--n-process must be at least 1, got {n_process}")
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor must be local or ray, got {executor!r}")
        if address is not None and executor != "ray":
            raise ConfigError("--address needs --executor ray")
        if executor == "ray":  # before loading the pipeline: say at once what is missing
            from kg_engine.extraction.distributed import require_ray

            require_ray()
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
        for p in paths:
            if not p.exists():
                from kg_engine.errors import InputNotFoundError

                raise InputNotFoundError(f"{p}: no such file or folder")
        overrides = _parse_set(set_ or [])
        from kg_engine.extraction.corpus import CorpusReport, iter_documents

        split = "paragraphs" if paragraphs else "none"
        # read the whole corpus once first: malformed input fails before anything is
        # written, and the progress bar knows the total
        seen: set[str] = set()
        first = CorpusReport()
        for d in iter_documents(paths, text_field=text_field, id_field=id_field, split=split,
                                report=first):
            if d.id in seen:
                raise ConfigError(f"document id {d.id!r} occurs twice; ids must be unique "
                                  "(choose another --id-field)")
            seen.add(d.id)
        if not seen:  # one line, as every bad-input error: the first files not read named
            listed = "".join(f"; {s.path}: {s.reason}" for s in first.skipped[:3])
            if len(first.skipped) > 3:
                listed += f"; and {len(first.skipped) - 3} more file(s) not read"
            raise ConfigError(f"no text to extract from in {', '.join(map(str, paths))} "
                              f"(empty files, or no --text-field values{listed}): give files "
                              "with text")
        kg = open_kg(db)
        with kg:
            result = kg.extract(list(paths), pipeline, n_process=n_process,
                                batch_size=batch_size, text_field=text_field,
                                id_field=id_field, split=split, overrides=overrides,
                                link_to_graph=link, total=len(seen), executor=executor,
                                ray_address=address, prune=prune)
    _print_skipped(result.skipped_files)
    gone = ""
    if result.deleted:
        gone += f", removed {result.deleted:,} gone from their files or folders"
    if result.missing:
        gone += (f"; kept {result.missing:,} of files deleted since (--prune removes them)")
    files = (f"; {len(result.skipped_files):,} file(s) not read (listed above)"
             if result.skipped_files else "")
    console.print(
        f"extracted {result.triples:,} triples ({result.added:,} new) from {result.documents:,} "
        f"document(s), {result.entities:,} entity mentions; skipped {result.skipped:,} "
        f"unchanged, replaced {result.replaced:,} changed{gone}{files}; "
        f"{result.seconds:.1f} s ({result.words / max(result.seconds, 1e-9):,.0f} words/s) "
        f"into {db}", soft_wrap=True,
    )


def _print_skipped(skipped: list) -> None:
    """One line per file not read, on stderr: the path and why."""
    from kg_engine.cli.common import err_console

    for s in skipped:
        err_console.print(f"skipped {s.path}: {s.reason}", soft_wrap=True, markup=False,
                          highlight=False)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
