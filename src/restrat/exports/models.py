"""Export control tables: measures and their suspensions, the dated control list and its versions, export quotas
and quota standards, licences with their audit trail and ledger use, flags, list reviews, screening lists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow


class ExportMeasure(Base):
    """A law, regulation, catalogue or announcement; effective_basis says where its effective date comes from."""

    __tablename__ = "export_measure"

    measure_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    measure_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    issued_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    effective_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    effective_basis: Mapped[str] = mapped_column(String(40))  # stated / issued_date_assumed / not_given
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    elements: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class ExportSuspension(Base):
    """A measure does not apply from suspended_from to suspended_until, both days included."""

    __tablename__ = "export_suspension"
    __table_args__ = (CheckConstraint("suspended_until >= suspended_from", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("export_measure.measure_id"), index=True)
    suspended_from: Mapped[dt.date] = mapped_column(Date)
    suspended_until: Mapped[dt.date] = mapped_column(Date)
    by_measure: Mapped[str] = mapped_column(String(60), default="")
    source: Mapped[str] = mapped_column(Text, default="")


class ControlListVersion(Base):
    __tablename__ = "export_list_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    basis: Mapped[str] = mapped_column(Text)  # "reference data seed" / "review proposal 3 accepted: ..."
    effective_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class ControlEntry(Base):
    """One control-list item for one element and product category, in force from effective_from to effective_to
    (both included; open when null). Entries are never edited: a new list version closes and adds entries."""

    __tablename__ = "export_control_entry"
    __table_args__ = (
        CheckConstraint("effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from",
                        name="dates_ordered"),
        CheckConstraint("min_share >= 0 AND min_share <= 1", name="share_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_code: Mapped[str] = mapped_column(String(40), index=True)
    element: Mapped[str | None] = mapped_column(String(3), nullable=True)  # null: any rare earth
    sub_item: Mapped[str] = mapped_column(String(4), default="")
    category: Mapped[str] = mapped_column(String(30))  # metal_alloy_product / oxide / compound / technology / ...
    description: Mapped[str] = mapped_column(Text)
    forms: Mapped[str] = mapped_column(Text, default="")  # catalog product forms, ";"-separated
    hs_codes: Mapped[str] = mapped_column(Text, default="")  # reference customs codes or prefixes, ";"-separated
    min_share: Mapped[float] = mapped_column(Float, default=0.0)  # element share of REO above which it applies
    licence: Mapped[str] = mapped_column(String(40))
    measure_id: Mapped[str | None] = mapped_column(ForeignKey("export_measure.measure_id"), nullable=True)
    code_status: Mapped[str] = mapped_column(String(20))  # seen / inferred / proposed
    effective_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # null: undated in the sources
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    version_added: Mapped[int] = mapped_column(ForeignKey("export_list_version.id"))
    version_closed: Mapped[int | None] = mapped_column(ForeignKey("export_list_version.id"), nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class ExportQuotaYear(Base):
    """MOFCOM export quotas 2005-2014 as reported (t, by batch and category)."""

    __tablename__ = "export_quota_year"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    batch: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(20))
    tonnes: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class QuotaStandard(Base):
    """How much one licence, and one exporter in a calendar year, may export for an end-use class (military or
    civil), optionally for one element; dated like every rule."""

    __tablename__ = "export_quota_standard"
    __table_args__ = (CheckConstraint("end_use_class IN ('military', 'civil')", name="end_use_class"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    end_use_class: Mapped[str] = mapped_column(String(10))
    element: Mapped[str | None] = mapped_column(String(3), nullable=True)
    max_kg_per_licence: Mapped[float] = mapped_column(Float)
    annual_kg_per_exporter: Mapped[float] = mapped_column(Float)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    data_status: Mapped[str] = mapped_column(String(20))  # illustrative / set_by_regulator
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Licence(Base):
    """An export licence application and, once decided, the licence: quantity_kg is consumed by ledger exports."""

    __tablename__ = "export_licence"
    __table_args__ = (
        CheckConstraint("consumed_kg >= 0", name="consumed_nonneg"),
        CheckConstraint("consumed_kg <= quantity_kg * 1.000001 + 0.001", name="within_quantity"),
        CheckConstraint("end_use_class IN ('military', 'civil')", name="end_use_class"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # single / general
    consignee: Mapped[str] = mapped_column(String(200))
    consignee_country: Mapped[str] = mapped_column(String(60))
    end_user: Mapped[str] = mapped_column(String(200))
    end_user_country: Mapped[str] = mapped_column(String(60))
    end_use: Mapped[str] = mapped_column(Text)
    end_use_class: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(60))
    quantity_kg: Mapped[float] = mapped_column(Float)
    value_usd: Mapped[float] = mapped_column(Float, default=0.0)
    consumed_kg: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(30), index=True)
    submitted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    review_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decided_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    conditions: Mapped[str] = mapped_column(Text, default="")
    screening_band: Mapped[str] = mapped_column(String(20), default="")
    screening: Mapped[str] = mapped_column(Text, default="")  # JSON: hits per party
    data_status: Mapped[str] = mapped_column(String(20), default="registered")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LicenceLine(Base):
    """One product on a licence: form, HS code, composition summary and the control items it falls under."""

    __tablename__ = "export_licence_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("export_licence.id", ondelete="CASCADE"), index=True)
    form: Mapped[str] = mapped_column(String(30))
    hs_code: Mapped[str] = mapped_column(String(10))
    composition: Mapped[str] = mapped_column(Text, default="")  # "Nd:0.7;Dy:0.05" (fractions of REO)
    quantity_kg: Mapped[float] = mapped_column(Float)
    value_usd: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[str] = mapped_column(Text, default="")  # control items that applied on submission


class LicenceEvent(Base):
    """The audit trail of a licence: every state change with who, when and why."""

    __tablename__ = "export_licence_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("export_licence.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(80))
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")


class LicenceUse(Base):
    """Kilograms of a licence used by one ledger export event; an event is counted once."""

    __tablename__ = "export_licence_use"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("export_licence.id"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    kg: Mapped[float] = mapped_column(Float)
    at_epoch_s: Mapped[int] = mapped_column(BigInteger)


class ExportFlag(Base):
    """An export event that broke a licence rule: controlled without a valid licence, or beyond it."""

    __tablename__ = "export_flag"
    __table_args__ = (UniqueConstraint("event_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    rule: Mapped[str] = mapped_column(String(40))
    licence_ref: Mapped[str] = mapped_column(String(60), default="")
    kg: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="")
    at_epoch_s: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReviewProposal(Base):
    """A data-driven proposal to change the control list from a date; the regulator accepts or rejects it."""

    __tablename__ = "export_review_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    params: Mapped[str] = mapped_column(Text)  # JSON: weights and thresholds used
    state: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed / accepted / rejected
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    version_id: Mapped[int | None] = mapped_column(ForeignKey("export_list_version.id"), nullable=True)


class ReviewChange(Base):
    __tablename__ = "export_review_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("export_review_proposal.id", ondelete="CASCADE"),
                                             index=True)
    action: Mapped[str] = mapped_column(String(10))  # add / remove
    element: Mapped[str] = mapped_column(String(3))
    sub_item: Mapped[str] = mapped_column(String(4))
    item_code: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)


class ScreeningList(Base):
    __tablename__ = "export_screening_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    licence: Mapped[str] = mapped_column(Text)
    data_status: Mapped[str] = mapped_column(String(20))  # synthetic / official
    current_version: Mapped[int] = mapped_column(Integer, default=0)


class ScreeningListVersion(Base):
    __tablename__ = "export_screening_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("export_screening_list.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    source_name: Mapped[str] = mapped_column(String(300))
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)


class ScreeningEntry(Base):
    """One listed party as held from version_from to version_to (open when null); changes close and re-add."""

    __tablename__ = "export_screening_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("export_screening_list.id"), index=True)
    entity_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[str] = mapped_column(Text, default="")  # "|"-separated
    country: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(30), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    version_from: Mapped[int] = mapped_column(Integer)
    version_to: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class ContentRule(Base):
    """A dated de minimis rule: a foreign-made product needs a licence when controlled rare earths of Chinese origin
    make up at least threshold_value_share of its value."""

    __tablename__ = "export_content_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("export_measure.measure_id"))
    elements: Mapped[str] = mapped_column(String(120))  # ";"-separated
    threshold_value_share: Mapped[float] = mapped_column(Float)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
