"""``incidents import acled|csv|geojson FILE``: the command-line side of the importers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import IncidentDataError
from ..progress import terminal_progress
from ..reader import max_bytes_from_env, read_file_bytes
from ..vocab import STATUSES
from .api import import_table
from .mapping import FieldMapping, MappingError, load_mapping, mapping_from_options
from .reading import rows_read
from .report import ImportFailed, Kind

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


def add_import_command(commands: Any) -> None:
    """Add ``import`` with its ``acled``, ``csv`` and ``geojson`` subcommands to an argparse subparsers object."""
    text = "Convert an ACLED export, a spreadsheet (CSV) or other GeoJSON into the incident format."
    parser = commands.add_parser("import", help=text, description=text)
    kinds = parser.add_subparsers(dest="import_kind", required=True, parser_class=type(parser))

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("file", metavar="FILE", help="the file to import ('-' reads standard input)")
        sub.add_argument("-o", "--output", metavar="OUT", default="-", help="output GeoJSON file; '-' is stdout")
        sub.add_argument("--status", metavar="S", choices=tuple(STATUSES),
                         help=f"status of every incident without one ({', '.join(STATUSES)})")
        sub.add_argument("--source", metavar="TEXT", help="source title for rows that name no source")
        sub.add_argument("--max-size", type=float, metavar="MB", help="refuse files larger than MB megabytes")
        sub.set_defaults(handler=run_import)

    acled = kinds.add_parser("acled", help="an ACLED CSV export (status 'claimed' unless --status)",
                             description="Import an ACLED CSV export; the mapping is described in docs/import.md.")
    common(acled)
    for kind, what in (("csv", "a spreadsheet saved as CSV with a header line"),
                       ("geojson", "GeoJSON from another tool (any properties)")):
        sub = kinds.add_parser(kind, help=what, description=f"Import {what}. Columns named like incident fields "
                               "(and lat/lon/wkt) are found by name; map others with --field or --map.")
        common(sub)
        sub.add_argument("--map", metavar="FILE", help="mapping file (.toml, .json, .yaml)")
        sub.add_argument("--field", action="append", default=[], metavar="FIELD=COLUMN",
                         help="read FIELD from COLUMN (repeat), e.g. --field title=Event --field start=Date")
        sub.add_argument("--category", metavar="CODE", help="category of every row without one")


def run_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    kind: Kind = args.import_kind
    usage = f"(see 'incidents import {kind} --help')"
    if args.max_size is not None and args.max_size <= 0:
        print(f"incidents: error: --max-size must be a positive number of megabytes {usage}", file=err)
        return EXIT_USAGE
    limit = int(args.max_size * 1024 * 1024) if args.max_size is not None else max_bytes_from_env()
    try:
        mapping = _mapping(args, limit) if kind != "acled" else None
        data = _read(args.file, limit)
        name = args.file if args.file != "-" else "stdin"
        with terminal_progress(err) as progress:
            result = import_table(data, name=name, kind=kind, mapping=mapping, default_status=args.status,
                                  default_source=args.source, default_category=getattr(args, "category", None),
                                  max_bytes=limit, progress=rows_read(name, progress))
    except MappingError as error:
        print(f"incidents: error: {error} {usage}", file=err)
        return EXIT_USAGE
    except ImportFailed as error:
        print(f"error: {error}", file=err)
        return EXIT_DATA
    except IncidentDataError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=err)
        return EXIT_DATA
    for line in result.report.lines():
        print(line, file=err)
    if result.report.imported == 0:
        print(f"nothing was imported from {args.file}; no output written", file=err)
        return EXIT_DATA
    if args.output == "-":
        out.flush()
        binary = getattr(out, "buffer", None)
        if binary is not None:
            result.write(binary)
            binary.flush()
        else:
            out.write(result.to_bytes().decode("utf-8"))
    else:
        try:
            with Path(args.output).open("wb") as handle:
                result.write(handle)
        except OSError as error:
            print(f"incidents: error: cannot write {args.output}: {error.strerror or error}", file=err)
            return EXIT_USAGE
        count = result.report.imported
        print(f"wrote {count} incident{'s' if count != 1 else ''} to {args.output}", file=err)
    return EXIT_OK


def _read(file: str, limit: int) -> bytes:
    if file == "-":
        data: bytes = sys.stdin.buffer.read(limit + 1)
        return data
    path = Path(file)
    if not path.exists():
        raise ImportFailed(file, "does not exist")
    return read_file_bytes(path, name=file, max_bytes=limit)


def _mapping(args: argparse.Namespace, limit: int) -> FieldMapping:
    options = mapping_from_options(args.field)
    if not args.map:
        return options
    try:
        data = read_file_bytes(Path(args.map), name=args.map, max_bytes=min(limit, 1024 * 1024))
    except IncidentDataError as error:
        raise MappingError(args.map, error.problems[0].message) from None
    return load_mapping(data, name=args.map).merged(options)
