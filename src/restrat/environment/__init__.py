"""Environmental supervision: emission standards, monitoring ingestion, exceedances, compliance, wastes."""
