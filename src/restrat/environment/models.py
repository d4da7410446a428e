"""Environment tables: dated emission limits, outlets, the submission workspace and the official monitoring record.

Times of monitoring values are seconds since 1970-01-01 00:00 in the facility's local standard time as reported
(HJ 212 DataTime is local time), so daily averages follow local days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from restrat.ledger.models import BigId
from restrat.store.base import Base, utcnow


class EmissionLimit(Base):
    """One limit of a standard, in force from valid_from to valid_to (inclusive; open when null)."""

    __tablename__ = "env_limit"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="dates_ordered"),
        CheckConstraint("limit_low IS NOT NULL OR limit_high IS NOT NULL", name="has_bound"),
        Index("ix_env_limit_lookup", "pollutant", "medium"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard: Mapped[str] = mapped_column(String(80))  # GB 26451-2011, DB41/777-2013, ...
    scope: Mapped[str] = mapped_column(String(12))  # national / local
    region: Mapped[str] = mapped_column(String(100), default="")  # local: facilities whose region starts with it
    pollutant: Mapped[str] = mapped_column(String(40))
    medium: Mapped[str] = mapped_column(String(8))  # water / air
    facility_class: Mapped[str] = mapped_column(String(12))  # existing / new / special / unspecified
    discharge: Mapped[str] = mapped_column(String(20))  # direct / indirect / workshop_outlet / stack / unspecified
    process: Mapped[str] = mapped_column(String(40), default="unspecified")
    limit_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    limit_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(12))  # canonical unit of the pollutant
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # seen / recalled / official / local / illustrative
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    superseded_by_load: Mapped[int | None] = mapped_column(Integer, nullable=True)  # official table replacing it
    load_id: Mapped[int] = mapped_column(Integer)
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Outlet(Base):
    """A discharge point of a facility: one medium, a discharge type and the standard's facility class."""

    __tablename__ = "env_outlet"
    __table_args__ = (UniqueConstraint("facility_id", "code", name="facility_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    medium: Mapped[str] = mapped_column(String(8))
    discharge: Mapped[str] = mapped_column(String(20))
    process: Mapped[str] = mapped_column(String(40), default="unspecified")  # where the standard sets limits by process
    facility_class: Mapped[str] = mapped_column(String(12))  # existing / new (from the facility's start date)
    special_area: Mapped[bool] = mapped_column(Boolean, default=False)  # special limits for sensitive areas
    mn: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)  # HJ 212 data logger id
    data_status: Mapped[str] = mapped_column(String(20), default="registered")
    note: Mapped[str] = mapped_column(Text, default="")


class Submission(Base):
    """A file or message of monitoring data: checked in the workspace, then promoted to the official record."""

    __tablename__ = "env_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(12))  # csv / parquet / jsonl / api / hj212
    username: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12))  # checked / promoted
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_new: Mapped[int] = mapped_column(Integer)
    rows_duplicate: Mapped[int] = mapped_column(Integer)
    checks: Mapped[str] = mapped_column(Text)  # JSON: check id -> rows passed
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    data_status: Mapped[str] = mapped_column(String(20), default="reported")  # reported / illustrative


class WorkspaceValue(Base):
    """A checked value waiting in the workspace for its submission to be promoted."""

    __tablename__ = "env_workspace"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("env_submission.id", ondelete="CASCADE"), index=True)
    outlet_id: Mapped[int] = mapped_column(Integer)
    pollutant: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(8))
    at_s: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))
    flag: Mapped[str] = mapped_column(String(4))


class MonitoringValue(Base):
    """The official record: one value per outlet, pollutant, period and time, in the pollutant's canonical unit."""

    __tablename__ = "env_value"
    __table_args__ = (UniqueConstraint("outlet_id", "pollutant", "period", "at_s", name="series_time"),
                      Index("ix_env_value_outlet_time", "outlet_id", "at_s"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("env_outlet.id"))
    pollutant: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(8))  # minute / hour / day / sample
    at_s: Mapped[int] = mapped_column(BigInteger)  # period start, local standard time seconds
    value: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))  # cems / manual / substituted / illustrative
    flag: Mapped[str] = mapped_column(String(4))  # HJ 212 data flag (N normal, ...)
    submission_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    substitution_rule: Mapped[str | None] = mapped_column(String(20), nullable=True)


class DataLogger(Base):
    """The access secret of an HJ 212 data logger (MN) of an outlet: its PW stored as an argon2 hash only."""

    __tablename__ = "env_logger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mn: Mapped[str] = mapped_column(String(40), unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("env_outlet.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    registered_by: Mapped[str] = mapped_column(String(80))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class LoggerEvent(Base):
    """What the HJ 212 listener keeps of a logger conversation beyond stored values: refused passwords and MNs,
    malformed and refused messages, status uploads, notifications and the answers loggers send."""

    __tablename__ = "env_logger_event"
    __table_args__ = (Index("ix_env_logger_event_mn_at", "mn", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)  # UTC
    peer: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    mn: Mapped[str | None] = mapped_column(String(40), nullable=True)
    qn: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cn: Mapped[str | None] = mapped_column(String(8), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    cp: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON of the data area (status uploads, answers)
