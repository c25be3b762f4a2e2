"""The ``incidents`` command line: validate, export and count incident files in scripts."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__
from .errors import IncidentDataError, Problem
from .export import CSV_BOM, csv_pieces, geojson_pieces, write_pieces
from .filters import FilterError, IncidentFilter, parse_bbox
from .importers.command import add_import_command
from .load import load_incidents, load_incidents_bytes
from .model import Dataset
from .progress import terminal_progress
from .stats import format_summary, summarize
from .store import PARQUET_SUFFIXES, write_geoparquet
from .synth import synthetic_collection, write_synthetic_geojson
from .vocab import STATUSES

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="incidents", description="Validate, filter, export and count incident datasets.")
    parser.add_argument("--version", action="version", version=f"incidents {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_inputs(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("paths", nargs="+", metavar="PATH", help="incident GeoJSON files or folders")
        sub.add_argument("--max-size", type=float, metavar="MB", help="refuse files larger than MB megabytes")
        sub.add_argument("--no-cache", dest="cache", action="store_false",
                         help="check every file again instead of reusing the result for unchanged content")
        return sub

    with_inputs("validate", "Check files against the incident format; exit 1 listing every problem.")
    export = with_inputs("export", "Write the incidents that match a filter as GeoJSON or CSV.")
    export.add_argument("--status", action="append", default=[], metavar="S",
                        help=f"keep this status ({', '.join(STATUSES)}); repeat or separate with commas")
    export.add_argument("--category", action="append", default=[], metavar="C", help="keep this category")
    export.add_argument("--from", dest="date_from", metavar="DATE", help="window start (ISO date, any precision)")
    export.add_argument("--to", dest="date_to", metavar="DATE", help="window end (ISO date, any precision)")
    export.add_argument("--as-of", dest="as_of", metavar="DATE", help="show what was known at the end of DATE")
    export.add_argument("--bbox", metavar="W,S,E,N", help="keep incidents within this box (degrees)")
    export.add_argument("--perpetrator", metavar="TEXT", help="perpetrator contains TEXT")
    export.add_argument("--claimant", metavar="TEXT", help="a claim was made by a party matching TEXT")
    export.add_argument("--query", "-q", metavar="TEXT", help="words or \"phrases\" that must all occur")
    export.add_argument("--format", choices=("geojson", "csv"), default="geojson")
    export.add_argument("-o", "--output", metavar="FILE", default="-", help="output file; '-' is stdout")
    stats = with_inputs("stats", "Count incidents by status, category and month.")
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_import_command(commands)
    convert = commands.add_parser(
        "convert", help="Convert incident files to GeoParquet (the fast format) or GeoJSON.",
        description="Check incident files and write them as one GeoParquet (.parquet) or GeoJSON file.")
    convert.add_argument("paths", nargs="+", metavar="IN", help="incident files or folders")
    convert.add_argument("output", metavar="OUT", help="output file: .parquet/.geoparquet or .geojson/.json")
    convert.add_argument("--max-size", type=float, metavar="MB", help="refuse files larger than MB megabytes")
    convert.add_argument("--no-cache", dest="cache", action="store_false", help="do not reuse cached checks")
    convert.set_defaults(handler=_convert)
    synth = commands.add_parser(
        "synth", help="Write a synthetic dataset for benchmarks (seeded, reproducible).",
        description="Write N synthetic incidents (claims, sources, histories, some polygons and unlocated ones).")
    synth.add_argument("count", type=int, metavar="N")
    synth.add_argument("-o", "--output", required=True, metavar="FILE", help=".geojson or .parquet")
    synth.add_argument("--seed", type=int, default=7)
    synth.set_defaults(handler=_synth)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return _run(args, out, err)
    except UsageError as error:
        print(f"incidents: error: {error}", file=err)
        return EXIT_USAGE
    except IncidentDataError as error:
        _print_problems(error.problems, err)
        return EXIT_DATA
    except BrokenPipeError:
        return EXIT_OK


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:  # a subcommand that runs itself (incidents import …)
        result: int = handler(args, out, err)
        return result
    flt = _filter_from(args) if args.command == "export" else None
    max_bytes = None if args.max_size is None else int(args.max_size * 1024 * 1024)
    if max_bytes is not None and max_bytes <= 0:
        raise UsageError("--max-size must be a positive number of megabytes")
    with terminal_progress(err) as progress:
        dataset = load_incidents(args.paths, max_bytes=max_bytes, nested=False, cache=args.cache, progress=progress)
    _print_problems(dataset.warnings, err)
    if args.command == "validate":
        print(_validated(dataset), file=out)
        return EXIT_OK
    if args.command == "stats":
        summary = summarize(dataset.frame)
        print(json.dumps(summary, indent=2) if args.json else format_summary(summary), file=out)
        return EXIT_OK
    assert flt is not None
    selection = flt.select(dataset)  # filtered once: for the file and for the count said after it
    pieces = (csv_pieces(dataset, flt, selection=selection) if args.format == "csv"
              else geojson_pieces(dataset, flt, selection=selection))
    bom = CSV_BOM if args.format == "csv" else b""
    if args.output == "-":
        out.flush()
        binary = getattr(out, "buffer", None)
        if binary is None:  # a text stream (tests, embedding): text as is, no byte-order mark
            for piece in pieces:
                out.write(piece)
        else:
            write_pieces(binary, pieces, bom=bom)
            binary.flush()
        return EXIT_OK
    _write_file(args.output, pieces, bom=bom)
    count = len(selection)
    print(f"wrote {count} incident{'s' if count != 1 else ''} ({flt.describe()}) to {args.output}", file=err)
    return EXIT_OK


def _default_file_mode() -> int:
    """The mode ``open(name, "w")`` would give a new file (temporary files are created private)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write_file(name: str, pieces: Iterable[str], *, bom: bytes = b"") -> None:
    """Write ``pieces`` to ``name`` a piece at a time. A regular file appears whole or not at all: the text goes to
    a temporary file beside it, renamed over it at the end (an error or Ctrl-C leaves the old file as it was)."""
    target = Path(name)
    try:
        if target.exists() and not target.is_file():  # /dev/stdout, a pipe: write into it, never replace it
            with target.open("wb") as sink:
                write_pieces(sink, pieces, bom=bom)
            return
        with tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".partial", delete=False) as sink:
            partial = Path(sink.name)
            try:
                write_pieces(sink, pieces, bom=bom)
            except BaseException:
                sink.close()
                partial.unlink(missing_ok=True)
                raise
        os.chmod(partial, stat.S_IMODE(target.stat().st_mode) if target.exists() else _default_file_mode())
        os.replace(partial, target)
    except OSError as error:
        raise UsageError(f"cannot write {name}: {error.strerror or error}") from None


def _convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = Path(args.output)
    suffix = target.suffix.lower()
    if suffix not in (*PARQUET_SUFFIXES, ".geojson", ".json"):
        raise UsageError(f"cannot tell the format of {args.output!r}: name it .parquet or .geojson")
    max_bytes = None if args.max_size is None else int(args.max_size * 1024 * 1024)
    with terminal_progress(err) as progress:
        dataset = load_incidents(args.paths, max_bytes=max_bytes, nested=False, cache=args.cache, progress=progress)
    _print_problems(dataset.warnings, err)
    if suffix in PARQUET_SUFFIXES:
        try:
            write_geoparquet(dataset, target)
        except OSError as error:
            raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
    else:
        _write_file(args.output, geojson_pieces(dataset, IncidentFilter()))
    print(f"wrote {len(dataset)} incidents to {args.output}", file=err)
    del out
    return EXIT_OK


def _synth(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.count < 0:
        raise UsageError("N must be 0 or more")
    target = Path(args.output)
    if target.suffix.lower() in PARQUET_SUFFIXES:
        dataset = load_incidents_bytes(json.dumps(synthetic_collection(args.count, seed=args.seed)).encode(),
                                       name=target.name, nested=False)
        write_geoparquet(dataset, target)
    else:
        write_synthetic_geojson(str(target), args.count, seed=args.seed)
    print(f"wrote {args.count} synthetic incidents to {args.output}", file=err)
    del out
    return EXIT_OK


def _filter_from(args: argparse.Namespace) -> IncidentFilter:
    def split(values: list[str]) -> frozenset[str]:
        return frozenset(part.strip() for value in values for part in value.split(",") if part.strip())

    try:
        return IncidentFilter(
            statuses=split(args.status),
            categories=split(args.category),
            date_from=args.date_from,
            date_to=args.date_to,
            as_of=args.as_of,
            bbox=parse_bbox(args.bbox) if args.bbox else None,
            perpetrator=args.perpetrator,
            claimant=args.claimant,
            query=args.query,
        )
    except FilterError as error:
        raise UsageError(str(error)) from None


def _validated(dataset: Dataset) -> str:
    files = len(dataset.files)
    unlocated = int(dataset.frame.geometry.isna().sum())
    warnings = len(dataset.warnings)
    return (
        f"valid: {len(dataset)} incident{'s' if len(dataset) != 1 else ''} in {files} file{'s' if files != 1 else ''}"
        f" ({unlocated} without a location, {warnings} warning{'s' if warnings != 1 else ''})"
    )


def _print_problems(problems: Sequence[Problem], err: TextIO) -> None:
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        label = "error" if problem.severity == "error" else "warning"
        print(f"{label}: {problem}", file=err)
    if errors:
        print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found; nothing was loaded", file=err)
