"""The data edge: read a table, infer its schema, split it (seeded).

table = read_table("churn.csv")
frame, schema = infer_schema(table.frame, target="Churn")
splits = make_splits(frame[schema.target].to_numpy(), schema.task)
"""

from __future__ import annotations

from mlvsdl.data.load import Table, read_table
from mlvsdl.data.schema import infer_schema
from mlvsdl.data.split import Splits, make_splits, min_rows_needed

__all__ = ["Splits", "Table", "infer_schema", "make_splits", "min_rows_needed", "read_table"]
