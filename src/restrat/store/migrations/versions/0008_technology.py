"""technology: institutions, R&D projects, partners, budgets, readiness, patents, industrialisation, facility
technology levels, technology export applications

Revision ID: 0008_technology
Revises: 0002
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_technology"
down_revision = "0002"
branch_labels = ("technology",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tech_institution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("country", sa.String(length=60), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("kind IN ('institute', 'university')", name=op.f("ck_tech_institution_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_institution")),
        sa.UniqueConstraint("code", name=op.f("uq_tech_institution_code")),
    )
    op.create_table(
        "tech_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("lead_enterprise_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name=op.f("ck_tech_project_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["lead_enterprise_id"], ["enterprise.id"], name=op.f("fk_tech_project_lead_enterprise_id_enterprise")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_project")),
        sa.UniqueConstraint("code", name=op.f("uq_tech_project_code")),
    )
    op.create_index(op.f("ix_tech_project_field"), "tech_project", ["field"], unique=False)
    op.create_index(op.f("ix_tech_project_lead_enterprise_id"), "tech_project", ["lead_enterprise_id"], unique=False)
    op.create_table(
        "tech_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("budget_cny", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("budget_cny >= 0", name=op.f("ck_tech_budget_budget_nonneg")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_budget_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_budget")),
        sa.UniqueConstraint("project_id", "recorded_on", name=op.f("uq_tech_budget_project_id")),
    )
    op.create_index(op.f("ix_tech_budget_project_id"), "tech_budget", ["project_id"], unique=False)
    op.create_table(
        "tech_export_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("applicant_enterprise_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("recipient_country", sa.String(length=60), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("control_status", sa.String(length=30), nullable=False),
        sa.Column("licence_required", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("suspended_items", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_tech_export_application_applicant_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_export_application_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_export_application")),
        sa.UniqueConstraint("code", name=op.f("uq_tech_export_application_code")),
    )
    op.create_index(
        op.f("ix_tech_export_application_applicant_enterprise_id"),
        "tech_export_application",
        ["applicant_enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tech_export_application_project_id"), "tech_export_application", ["project_id"], unique=False
    )
    op.create_table(
        "tech_facility_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("level_on", sa.Date(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("level >= 1 AND level <= 5", name=op.f("ck_tech_facility_level_level_range")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facility.id"], name=op.f("fk_tech_facility_level_facility_id_facility")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_facility_level")),
        sa.UniqueConstraint("facility_id", "level_on", name=op.f("uq_tech_facility_level_facility_id")),
    )
    op.create_index(op.f("ix_tech_facility_level_facility_id"), "tech_facility_level", ["facility_id"], unique=False)
    op.create_table(
        "tech_industrialisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("forms", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("stage IN ('pilot', 'production')", name=op.f("ck_tech_industrialisation_stage")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facility.id"], name=op.f("fk_tech_industrialisation_facility_id_facility")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_industrialisation_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_industrialisation")),
        sa.UniqueConstraint("project_id", "stage", "facility_id", name=op.f("uq_tech_industrialisation_project_id")),
    )
    op.create_index(
        op.f("ix_tech_industrialisation_facility_id"), "tech_industrialisation", ["facility_id"], unique=False
    )
    op.create_index(
        op.f("ix_tech_industrialisation_project_id"), "tech_industrialisation", ["project_id"], unique=False
    )
    op.create_table(
        "tech_patent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_patent_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_patent")),
        sa.UniqueConstraint("number", name=op.f("uq_tech_patent_number")),
    )
    op.create_index(op.f("ix_tech_patent_field"), "tech_patent", ["field"], unique=False)
    op.create_index(op.f("ix_tech_patent_project_id"), "tech_patent", ["project_id"], unique=False)
    op.create_table(
        "tech_project_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(enterprise_id IS NULL) <> (institution_id IS NULL)", name=op.f("ck_tech_project_partner_one_actor")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_tech_project_partner_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["tech_institution.id"],
            name=op.f("fk_tech_project_partner_institution_id_tech_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_project_partner_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_project_partner")),
    )
    op.create_index(
        op.f("ix_tech_project_partner_enterprise_id"), "tech_project_partner", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_tech_project_partner_institution_id"), "tech_project_partner", ["institution_id"], unique=False
    )
    op.create_index(op.f("ix_tech_project_partner_project_id"), "tech_project_partner", ["project_id"], unique=False)
    op.create_table(
        "tech_readiness",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("level >= 1 AND level <= 9", name=op.f("ck_tech_readiness_level_range")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["tech_project.id"], name=op.f("fk_tech_readiness_project_id_tech_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_readiness")),
        sa.UniqueConstraint("project_id", "assessed_on", name=op.f("uq_tech_readiness_project_id")),
    )
    op.create_index(op.f("ix_tech_readiness_project_id"), "tech_readiness", ["project_id"], unique=False)
    op.create_table(
        "tech_patent_holder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patent_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(enterprise_id IS NULL) <> (institution_id IS NULL)", name=op.f("ck_tech_patent_holder_one_actor")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_tech_patent_holder_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["tech_institution.id"],
            name=op.f("fk_tech_patent_holder_institution_id_tech_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["patent_id"], ["tech_patent.id"], name=op.f("fk_tech_patent_holder_patent_id_tech_patent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_patent_holder")),
    )
    op.create_index(op.f("ix_tech_patent_holder_enterprise_id"), "tech_patent_holder", ["enterprise_id"], unique=False)
    op.create_index(
        op.f("ix_tech_patent_holder_institution_id"), "tech_patent_holder", ["institution_id"], unique=False
    )
    op.create_index(op.f("ix_tech_patent_holder_patent_id"), "tech_patent_holder", ["patent_id"], unique=False)
    op.create_table(
        "tech_patent_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patent_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patent_id"], ["tech_patent.id"], name=op.f("fk_tech_patent_status_patent_id_tech_patent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_patent_status")),
        sa.UniqueConstraint("patent_id", "status_on", "status", name=op.f("uq_tech_patent_status_patent_id")),
    )
    op.create_index(op.f("ix_tech_patent_status_patent_id"), "tech_patent_status", ["patent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tech_patent_status_patent_id"), table_name="tech_patent_status")
    op.drop_table("tech_patent_status")
    op.drop_index(op.f("ix_tech_patent_holder_patent_id"), table_name="tech_patent_holder")
    op.drop_index(op.f("ix_tech_patent_holder_institution_id"), table_name="tech_patent_holder")
    op.drop_index(op.f("ix_tech_patent_holder_enterprise_id"), table_name="tech_patent_holder")
    op.drop_table("tech_patent_holder")
    op.drop_index(op.f("ix_tech_readiness_project_id"), table_name="tech_readiness")
    op.drop_table("tech_readiness")
    op.drop_index(op.f("ix_tech_project_partner_project_id"), table_name="tech_project_partner")
    op.drop_index(op.f("ix_tech_project_partner_institution_id"), table_name="tech_project_partner")
    op.drop_index(op.f("ix_tech_project_partner_enterprise_id"), table_name="tech_project_partner")
    op.drop_table("tech_project_partner")
    op.drop_index(op.f("ix_tech_patent_project_id"), table_name="tech_patent")
    op.drop_index(op.f("ix_tech_patent_field"), table_name="tech_patent")
    op.drop_table("tech_patent")
    op.drop_index(op.f("ix_tech_industrialisation_project_id"), table_name="tech_industrialisation")
    op.drop_index(op.f("ix_tech_industrialisation_facility_id"), table_name="tech_industrialisation")
    op.drop_table("tech_industrialisation")
    op.drop_index(op.f("ix_tech_facility_level_facility_id"), table_name="tech_facility_level")
    op.drop_table("tech_facility_level")
    op.drop_index(op.f("ix_tech_export_application_project_id"), table_name="tech_export_application")
    op.drop_index(op.f("ix_tech_export_application_applicant_enterprise_id"), table_name="tech_export_application")
    op.drop_table("tech_export_application")
    op.drop_index(op.f("ix_tech_budget_project_id"), table_name="tech_budget")
    op.drop_table("tech_budget")
    op.drop_index(op.f("ix_tech_project_lead_enterprise_id"), table_name="tech_project")
    op.drop_index(op.f("ix_tech_project_field"), table_name="tech_project")
    op.drop_table("tech_project")
    op.drop_table("tech_institution")
