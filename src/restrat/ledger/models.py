"""Ledger tables. Integer surrogate keys and a packed composition (17 float32 REO fractions) keep rows compact;
events are append-only and chained by hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow

# SQLite makes only "INTEGER PRIMARY KEY" an alias of the rowid; BIGINT there would add a second index.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LedgerHead(Base):
    """The single row every importer locks first: the last event id and the chain hash it ends with."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_batch_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_chain: Mapped[bytes] = mapped_column(LargeBinary(32))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LedgerImport(Base):
    __tablename__ = "ledger_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(80))
    source_name: Mapped[str] = mapped_column(String(300))
    events_new: Mapped[int] = mapped_column(Integer)
    events_skipped: Mapped[int] = mapped_column(Integer)
    first_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    head_chain_hex: Mapped[str] = mapped_column(String(64))


class LedgerEvent(Base):
    __tablename__ = "ledger_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    uid: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    # facility.id, both: the importer checks them set-wise, so the database does not repeat it row by row
    facility_id: Mapped[int] = mapped_column(Integer, index=True)
    partner_facility_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at_epoch_s: Mapped[int] = mapped_column(BigInteger)  # event time, seconds since 1970-01-01 UTC
    ref_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # receipt->shipment, correction
    declared_kg: Mapped[float | None] = mapped_column(Float, nullable=True)  # receipt: gross kg; count: kg REO
    declared_comp: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    quota_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)
    licence_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)
    country: Mapped[str | None] = mapped_column(String(60), nullable=True)  # import origin / export destination
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    import_id: Mapped[int] = mapped_column(Integer)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))  # sha256 of the event's canonical content
    chain: Mapped[bytes] = mapped_column(LargeBinary(32))  # sha256(previous chain || digest)


class LedgerBatch(Base):
    __tablename__ = "ledger_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)  # the event that produced it
    facility_id: Mapped[int] = mapped_column(Integer)  # where it is held (shipment outputs: the destination)
    form: Mapped[str] = mapped_column(String(30))
    gross_kg: Mapped[float] = mapped_column(Float)
    reo_kg: Mapped[float] = mapped_column(Float)
    comp: Mapped[bytes] = mapped_column(LargeBinary)  # 17 little-endian float32 fractions of REO, catalog order


class LedgerInput(Base):
    __tablename__ = "ledger_input"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kg: Mapped[float] = mapped_column(Float)  # gross kg consumed


class LedgerFinding(Base):
    """An anomaly found by a scan; forwarded to the facilities upstream and downstream of it."""

    __tablename__ = "ledger_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(Text)
    facility_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_uids: Mapped[str] = mapped_column(Text)  # JSON list
    size: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LedgerAlert(Base):
    __tablename__ = "ledger_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("ledger_finding.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(Integer, index=True)
    direction: Mapped[str] = mapped_column(String(12))  # upstream / downstream / at
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
