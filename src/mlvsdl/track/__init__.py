"""Copies of finished runs in other people's record keepers (MLflow). The store stays the source."""
