"""Traceability ledger: batch-level flows from mine to magnet, validation, lineage, balances, anomalies, hash chain."""
