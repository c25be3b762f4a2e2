"""Server-side aggregation for very many incidents: counts per status in the cells of a regular grid.

Above a few hundred thousand incidents, sending each one to the browser costs more than it shows: the map draws
grid cells instead, each with its count per status, and a click on a cell names the incidents in it (the
dashboard lists them and can narrow the filter to the cell, where the incidents are drawn one by one again).
The grid is a pure function of the incidents' bounds, so the server finds the clicked cell again from the
position the browser reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

#: About this many cells across the longer side of the incidents' bounds.
CELLS_ACROSS: Final = 96
_STEPS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Grid:
    """Square cells of ``step`` degrees whose south-west corner lies on multiples of ``step``."""

    step: float

    def cell_of(self, lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.floor(lat / self.step).astype(np.int64), np.floor(lng / self.step).astype(np.int64)

    def bbox(self, row: int, column: int) -> tuple[float, float, float, float]:
        """The cell's west, south, east, north (rounded to the step's precision)."""
        digits = max(0, -math.floor(math.log10(self.step))) + 1
        south, west = round(row * self.step, digits), round(column * self.step, digits)
        return west, south, round(west + self.step, digits), round(south + self.step, digits)


def grid_for(anchors: np.ndarray) -> Grid:
    """A grid with about :data:`CELLS_ACROSS` cells across the anchors' ([lat, lng] rows) bounds."""
    if len(anchors) == 0:
        return Grid(1.0)
    spans = anchors.max(axis=0) - anchors.min(axis=0)
    wanted = float(max(spans.max(), 1e-9)) / CELLS_ACROSS
    return Grid(next((step for step in _STEPS if step >= wanted), _STEPS[-1]))


def aggregate(anchors: np.ndarray, status_codes: np.ndarray, *, statuses: int, grid: Grid) -> dict[str, Any]:
    """Counts per cell and status: ``{"step", "cells": [[row, column, total, count_0, count_1, …], …]}``.

    ``status_codes`` holds, for each anchor, the index of its status (0 … ``statuses`` - 1).
    """
    if len(anchors) == 0:
        return {"step": grid.step, "cells": []}
    rows, columns = grid.cell_of(anchors[:, 0], anchors[:, 1])
    # one integer per (cell, status): a 1-D count is much faster than np.unique over rows of a 2-D array
    row_base, column_base = rows.min(), columns.min()
    width = int(columns.max() - column_base) + 1
    cell = (rows - row_base) * width + (columns - column_base)
    keys, counts = np.unique(cell * statuses + status_codes.astype(np.int64), return_counts=True)
    cells = np.unique(keys // statuses)
    table = np.zeros((len(cells), statuses), dtype=np.int64)
    table[np.searchsorted(cells, keys // statuses), keys % statuses] = counts
    result = np.column_stack([cells // width + row_base, cells % width + column_base, table.sum(axis=1), table])
    return {"step": grid.step, "cells": result.tolist()}


def in_cell(anchors: np.ndarray, grid: Grid, lat: float, lng: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Which anchors lie in the cell that contains ``lat``, ``lng``, and that cell's (row, column)."""
    row, column = (int(v[0]) for v in grid.cell_of(np.array([lat]), np.array([lng])))
    if len(anchors) == 0:
        return np.zeros(0, dtype=bool), (row, column)
    rows, columns = grid.cell_of(anchors[:, 0], anchors[:, 1])
    return (rows == row) & (columns == column), (row, column)
