"""Event kinds of the ledger and how they map onto EPCIS (ISO/IEC 19987) event types and business steps."""

from __future__ import annotations

EXTRACTION = "extraction"
PROCESSING = "processing"
SHIPMENT = "shipment"
RECEIPT = "receipt"
IMPORT = "import"
EXPORT = "export"
DISPOSAL = "disposal"
STOCK_COUNT = "stock_count"
CORRECTION = "correction"

# kind -> (EPCIS event type, EPCIS business step, inputs allowed, outputs allowed)
KINDS: dict[str, tuple[str, str, str, str]] = {
    EXTRACTION: ("ObjectEvent/ADD", "commissioning (extraction at a mine)", "none", "one or more"),
    PROCESSING: ("TransformationEvent", "transforming", "one or more", "one or more"),
    SHIPMENT: ("TransactionEvent", "shipping", "one", "one"),
    RECEIPT: ("ObjectEvent/OBSERVE", "receiving", "none", "none"),
    IMPORT: ("ObjectEvent/ADD", "receiving (cross-border)", "none", "one or more"),
    EXPORT: ("ObjectEvent/DELETE", "shipping (cross-border)", "one or more", "none"),
    DISPOSAL: ("ObjectEvent/DELETE", "destroying / disposing", "one or more", "none"),
    STOCK_COUNT: ("ObjectEvent/OBSERVE", "cycle_counting", "none", "none"),
    CORRECTION: ("ObjectEvent/OBSERVE", "correcting (references the corrected event)", "none", "none"),
}
CREATES_BATCHES = {EXTRACTION, PROCESSING, SHIPMENT, IMPORT}
CONSUMES_BATCHES = {PROCESSING, SHIPMENT, EXPORT, DISPOSAL}
