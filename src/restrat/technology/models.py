"""Technology tables. Every record is dated and append-only: a change is a new row (a later budget, readiness
assessment, patent status or facility level), never an edit of an old one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow

ONE_ACTOR = "(enterprise_id IS NULL) <> (institution_id IS NULL)"


class Institution(Base):
    """A research institute or university (enterprises live in the registry)."""

    __tablename__ = "tech_institution"
    __table_args__ = (CheckConstraint("kind IN ('institute', 'university')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    country: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(100), default="")
    data_status: Mapped[str] = mapped_column(String(20))  # registered / illustrative
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")


class Project(Base):
    """An R&D project led by an enterprise in one technology field."""

    __tablename__ = "tech_project"
    __table_args__ = (CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(40), index=True)
    lead_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")


class ProjectPartner(Base):
    """An enterprise, institute or university taking part in a project from a date."""

    __tablename__ = "tech_project_partner"
    __table_args__ = (CheckConstraint(ONE_ACTOR, name="one_actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tech_project.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), nullable=True, index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("tech_institution.id"), nullable=True,
                                                       index=True)
    joined_on: Mapped[dt.date] = mapped_column(Date)
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")


class Budget(Base):
    """A project's budget as recorded on a date; the latest record before a date is the budget then."""

    __tablename__ = "tech_budget"
    __table_args__ = (CheckConstraint("budget_cny >= 0", name="budget_nonneg"),
                      UniqueConstraint("project_id", "recorded_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tech_project.id"), index=True)
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    budget_cny: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")


class Readiness(Base):
    """A technology readiness level (1-9) assessed on a date."""

    __tablename__ = "tech_readiness"
    __table_args__ = (CheckConstraint("level >= 1 AND level <= 9", name="level_range"),
                      UniqueConstraint("project_id", "assessed_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tech_project.id"), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")


class Patent(Base):
    """A patent (application or grant), optionally from a project."""

    __tablename__ = "tech_patent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(40), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("tech_project.id"), nullable=True, index=True)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")


class PatentHolder(Base):
    __tablename__ = "tech_patent_holder"
    __table_args__ = (CheckConstraint(ONE_ACTOR, name="one_actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patent_id: Mapped[int] = mapped_column(ForeignKey("tech_patent.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), nullable=True, index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("tech_institution.id"), nullable=True,
                                                       index=True)


class PatentStatus(Base):
    """A patent's status from a date (filed, published, granted, lapsed, revoked, expired)."""

    __tablename__ = "tech_patent_status"
    __table_args__ = (UniqueConstraint("patent_id", "status_on", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patent_id: Mapped[int] = mapped_column(ForeignKey("tech_patent.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    status_on: Mapped[dt.date] = mapped_column(Date)
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")


class Industrialisation(Base):
    """A project's technology reaching a pilot line or first production at a facility on a date; from then on the
    facility makes the listed product forms with it (until the facility's next change for the same form)."""

    __tablename__ = "tech_industrialisation"
    __table_args__ = (CheckConstraint("stage IN ('pilot', 'production')", name="stage"),
                      UniqueConstraint("project_id", "stage", "facility_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tech_project.id"), index=True)
    stage: Mapped[str] = mapped_column(String(12))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    reached_on: Mapped[dt.date] = mapped_column(Date)
    forms: Mapped[str] = mapped_column(Text, default="")  # catalog product forms, ";"-separated
    note: Mapped[str] = mapped_column(Text, default="")
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")


class FacilityLevel(Base):
    """A facility's technology level (1 basic .. 5 leading) from a date."""

    __tablename__ = "tech_facility_level"
    __table_args__ = (CheckConstraint("level >= 1 AND level <= 5", name="level_range"),
                      UniqueConstraint("facility_id", "level_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    level_on: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(Text, default="")
    data_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text, default="")


class ExportApplication(Base):
    """A technology export application and the catalogue check made at its date (kept as checked)."""

    __tablename__ = "tech_export_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tech_project.id"), index=True)
    applicant_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_country: Mapped[str] = mapped_column(String(60))
    applied_on: Mapped[dt.date] = mapped_column(Date)
    control_status: Mapped[str] = mapped_column(String(30))  # technology_prohibited / ... / not_listed
    licence_required: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[str] = mapped_column(Text, default="")  # item codes that applied, ";"-separated
    suspended_items: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[str] = mapped_column(Text, default="")
    data_status: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")
