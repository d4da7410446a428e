"""export control: measures, dated control list, licences, reviews, screening lists

Revision ID: 0004_exports
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_exports"
down_revision = "0002"
branch_labels = ("exports",)
depends_on = None


def upgrade() -> None:
    op.create_table('export_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('licence_ref', sa.String(length=60), nullable=False),
    sa.Column('kg', sa.Float(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at_epoch_s', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_flag')),
    sa.UniqueConstraint('event_id', 'rule', name=op.f('uq_export_flag_event_id'))
    )
    op.create_index(op.f('ix_export_flag_event_id'), 'export_flag', ['event_id'], unique=False)
    op.create_table('export_list_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_list_version'))
    )
    op.create_table('export_measure',
    sa.Column('measure_id', sa.String(length=60), nullable=False),
    sa.Column('measure_type', sa.String(length=40), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('issued_date', sa.Date(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('effective_basis', sa.String(length=40), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('elements', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('measure_id', name=op.f('pk_export_measure'))
    )
    op.create_table('export_quota_standard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('end_use_class', sa.String(length=10), nullable=False),
    sa.Column('element', sa.String(length=3), nullable=True),
    sa.Column('max_kg_per_licence', sa.Float(), nullable=False),
    sa.Column('annual_kg_per_exporter', sa.Float(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("end_use_class IN ('military', 'civil')", name=op.f('ck_export_quota_standard_end_use_class')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_quota_standard'))
    )
    op.create_table('export_quota_year',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('tonnes', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_quota_year'))
    )
    op.create_index(op.f('ix_export_quota_year_year'), 'export_quota_year', ['year'], unique=False)
    op.create_table('export_screening_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('licence', sa.Text(), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_screening_list')),
    sa.UniqueConstraint('name', name=op.f('uq_export_screening_list_name'))
    )
    op.create_table('export_content_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.String(length=60), nullable=False),
    sa.Column('elements', sa.String(length=120), nullable=False),
    sa.Column('threshold_value_share', sa.Float(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['export_measure.measure_id'], name=op.f('fk_export_content_rule_measure_id_export_measure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_content_rule'))
    )
    op.create_table('export_control_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('element', sa.String(length=3), nullable=True),
    sa.Column('sub_item', sa.String(length=4), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('forms', sa.Text(), nullable=False),
    sa.Column('hs_codes', sa.Text(), nullable=False),
    sa.Column('min_share', sa.Float(), nullable=False),
    sa.Column('licence', sa.String(length=40), nullable=False),
    sa.Column('measure_id', sa.String(length=60), nullable=True),
    sa.Column('code_status', sa.String(length=20), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('version_added', sa.Integer(), nullable=False),
    sa.Column('version_closed', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint('effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from', name=op.f('ck_export_control_entry_dates_ordered')),
    sa.CheckConstraint('min_share >= 0 AND min_share <= 1', name=op.f('ck_export_control_entry_share_range')),
    sa.ForeignKeyConstraint(['measure_id'], ['export_measure.measure_id'], name=op.f('fk_export_control_entry_measure_id_export_measure')),
    sa.ForeignKeyConstraint(['version_added'], ['export_list_version.id'], name=op.f('fk_export_control_entry_version_added_export_list_version')),
    sa.ForeignKeyConstraint(['version_closed'], ['export_list_version.id'], name=op.f('fk_export_control_entry_version_closed_export_list_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_control_entry'))
    )
    op.create_index(op.f('ix_export_control_entry_item_code'), 'export_control_entry', ['item_code'], unique=False)
    op.create_table('export_licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('exporter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('consignee', sa.String(length=200), nullable=False),
    sa.Column('consignee_country', sa.String(length=60), nullable=False),
    sa.Column('end_user', sa.String(length=200), nullable=False),
    sa.Column('end_user_country', sa.String(length=60), nullable=False),
    sa.Column('end_use', sa.Text(), nullable=False),
    sa.Column('end_use_class', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=60), nullable=False),
    sa.Column('quantity_kg', sa.Float(), nullable=False),
    sa.Column('value_usd', sa.Float(), nullable=False),
    sa.Column('consumed_kg', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('review_due', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('screening_band', sa.String(length=20), nullable=False),
    sa.Column('screening', sa.Text(), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("end_use_class IN ('military', 'civil')", name=op.f('ck_export_licence_end_use_class')),
    sa.CheckConstraint('consumed_kg <= quantity_kg * 1.000001 + 0.001', name=op.f('ck_export_licence_within_quantity')),
    sa.CheckConstraint('consumed_kg >= 0', name=op.f('ck_export_licence_consumed_nonneg')),
    sa.ForeignKeyConstraint(['exporter_id'], ['enterprise.id'], name=op.f('fk_export_licence_exporter_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_licence')),
    sa.UniqueConstraint('code', name=op.f('uq_export_licence_code'))
    )
    op.create_index(op.f('ix_export_licence_exporter_id'), 'export_licence', ['exporter_id'], unique=False)
    op.create_index(op.f('ix_export_licence_state'), 'export_licence', ['state'], unique=False)
    op.create_table('export_review_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['export_list_version.id'], name=op.f('fk_export_review_proposal_version_id_export_list_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_review_proposal'))
    )
    op.create_table('export_screening_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('entity_key', sa.String(length=120), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('version_from', sa.Integer(), nullable=False),
    sa.Column('version_to', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['export_screening_list.id'], name=op.f('fk_export_screening_entry_list_id_export_screening_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_screening_entry'))
    )
    op.create_index(op.f('ix_export_screening_entry_list_id'), 'export_screening_entry', ['list_id'], unique=False)
    op.create_index(op.f('ix_export_screening_entry_version_to'), 'export_screening_entry', ['version_to'], unique=False)
    op.create_table('export_screening_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['export_screening_list.id'], name=op.f('fk_export_screening_version_list_id_export_screening_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_screening_version'))
    )
    op.create_index(op.f('ix_export_screening_version_list_id'), 'export_screening_version', ['list_id'], unique=False)
    op.create_table('export_suspension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.String(length=60), nullable=False),
    sa.Column('suspended_from', sa.Date(), nullable=False),
    sa.Column('suspended_until', sa.Date(), nullable=False),
    sa.Column('by_measure', sa.String(length=60), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.CheckConstraint('suspended_until >= suspended_from', name=op.f('ck_export_suspension_dates_ordered')),
    sa.ForeignKeyConstraint(['measure_id'], ['export_measure.measure_id'], name=op.f('fk_export_suspension_measure_id_export_measure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_suspension'))
    )
    op.create_index(op.f('ix_export_suspension_measure_id'), 'export_suspension', ['measure_id'], unique=False)
    op.create_table('export_licence_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('from_state', sa.String(length=30), nullable=False),
    sa.Column('to_state', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['export_licence.id'], name=op.f('fk_export_licence_event_licence_id_export_licence'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_licence_event'))
    )
    op.create_index(op.f('ix_export_licence_event_licence_id'), 'export_licence_event', ['licence_id'], unique=False)
    op.create_table('export_licence_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('composition', sa.Text(), nullable=False),
    sa.Column('quantity_kg', sa.Float(), nullable=False),
    sa.Column('value_usd', sa.Float(), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['export_licence.id'], name=op.f('fk_export_licence_line_licence_id_export_licence'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_licence_line'))
    )
    op.create_index(op.f('ix_export_licence_line_licence_id'), 'export_licence_line', ['licence_id'], unique=False)
    op.create_table('export_licence_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('kg', sa.Float(), nullable=False),
    sa.Column('at_epoch_s', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['export_licence.id'], name=op.f('fk_export_licence_use_licence_id_export_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_licence_use')),
    sa.UniqueConstraint('event_id', name=op.f('uq_export_licence_use_event_id'))
    )
    op.create_index(op.f('ix_export_licence_use_licence_id'), 'export_licence_use', ['licence_id'], unique=False)
    op.create_table('export_review_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('element', sa.String(length=3), nullable=False),
    sa.Column('sub_item', sa.String(length=4), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['export_review_proposal.id'], name=op.f('fk_export_review_change_proposal_id_export_review_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_review_change'))
    )
    op.create_index(op.f('ix_export_review_change_proposal_id'), 'export_review_change', ['proposal_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_export_review_change_proposal_id'), table_name='export_review_change')
    op.drop_table('export_review_change')
    op.drop_index(op.f('ix_export_licence_use_licence_id'), table_name='export_licence_use')
    op.drop_table('export_licence_use')
    op.drop_index(op.f('ix_export_licence_line_licence_id'), table_name='export_licence_line')
    op.drop_table('export_licence_line')
    op.drop_index(op.f('ix_export_licence_event_licence_id'), table_name='export_licence_event')
    op.drop_table('export_licence_event')
    op.drop_index(op.f('ix_export_suspension_measure_id'), table_name='export_suspension')
    op.drop_table('export_suspension')
    op.drop_index(op.f('ix_export_screening_version_list_id'), table_name='export_screening_version')
    op.drop_table('export_screening_version')
    op.drop_index(op.f('ix_export_screening_entry_version_to'), table_name='export_screening_entry')
    op.drop_index(op.f('ix_export_screening_entry_list_id'), table_name='export_screening_entry')
    op.drop_table('export_screening_entry')
    op.drop_table('export_review_proposal')
    op.drop_index(op.f('ix_export_licence_state'), table_name='export_licence')
    op.drop_index(op.f('ix_export_licence_exporter_id'), table_name='export_licence')
    op.drop_table('export_licence')
    op.drop_index(op.f('ix_export_control_entry_item_code'), table_name='export_control_entry')
    op.drop_table('export_control_entry')
    op.drop_table('export_content_rule')
    op.drop_table('export_screening_list')
    op.drop_index(op.f('ix_export_quota_year_year'), table_name='export_quota_year')
    op.drop_table('export_quota_year')
    op.drop_table('export_quota_standard')
    op.drop_table('export_measure')
    op.drop_table('export_list_version')
    op.drop_index(op.f('ix_export_flag_event_id'), table_name='export_flag')
    op.drop_table('export_flag')
