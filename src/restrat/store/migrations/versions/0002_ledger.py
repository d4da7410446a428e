"""ledger and facility quota allocations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:05:14.215208
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_batch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('gross_kg', sa.Float(), nullable=False),
    sa.Column('reo_kg', sa.Float(), nullable=False),
    sa.Column('comp', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_batch')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_batch_code'))
    )
    with op.batch_alter_table('ledger_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_batch_event_id'), ['event_id'], unique=False)

    op.create_table('ledger_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('event_uids', sa.Text(), nullable=False),
    sa.Column('size', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_finding'))
    )
    with op.batch_alter_table('ledger_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_finding_scan_id'), ['scan_id'], unique=False)

    op.create_table('ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.Column('last_batch_id', sa.BigInteger(), nullable=False),
    sa.Column('last_chain', sa.LargeBinary(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_head'))
    )
    # The single head row that importers lock; the chain starts from 32 zero bytes.
    op.bulk_insert(sa.table('ledger_head', sa.column('id', sa.Integer()), sa.column('last_event_id', sa.BigInteger()),
                            sa.column('last_batch_id', sa.BigInteger()), sa.column('last_chain', sa.LargeBinary()),
                            sa.column('updated_at', sa.DateTime())),
                   [{'id': 1, 'last_event_id': 0, 'last_batch_id': 0, 'last_chain': bytes(32),
                     'updated_at': datetime.datetime(2026, 1, 1)}])
    op.create_table('ledger_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('events_new', sa.Integer(), nullable=False),
    sa.Column('events_skipped', sa.Integer(), nullable=False),
    sa.Column('first_event_id', sa.BigInteger(), nullable=True),
    sa.Column('last_event_id', sa.BigInteger(), nullable=True),
    sa.Column('head_chain_hex', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_import'))
    )
    op.create_table('ledger_input',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('kg', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_input'))
    )
    with op.batch_alter_table('ledger_input', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_input_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_input_event_id'), ['event_id'], unique=False)

    op.create_table('ledger_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['ledger_finding.id'], name=op.f('fk_ledger_alert_finding_id_ledger_finding'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_alert'))
    )
    with op.batch_alter_table('ledger_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_alert_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_alert_finding_id'), ['finding_id'], unique=False)

    op.create_table('ledger_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('uid', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('partner_facility_id', sa.Integer(), nullable=True),
    sa.Column('at_epoch_s', sa.BigInteger(), nullable=False),
    sa.Column('ref_event_id', sa.BigInteger(), nullable=True),
    sa.Column('declared_kg', sa.Float(), nullable=True),
    sa.Column('declared_comp', sa.LargeBinary(), nullable=True),
    sa.Column('quota_ref', sa.String(length=60), nullable=True),
    sa.Column('licence_ref', sa.String(length=60), nullable=True),
    sa.Column('country', sa.String(length=60), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('chain', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_ledger_event_facility_id_facility')),
    sa.ForeignKeyConstraint(['partner_facility_id'], ['facility.id'], name=op.f('fk_ledger_event_partner_facility_id_facility')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_event')),
    sa.UniqueConstraint('uid', name=op.f('uq_ledger_event_uid'))
    )
    with op.batch_alter_table('ledger_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_event_facility_id'), ['facility_id'], unique=False)

    op.create_table('quota_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ore_type', sa.String(length=12), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('tonnes_reo', sa.Float(), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_quota_allocation_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_quota_allocation_facility_id_facility')),
    sa.ForeignKeyConstraint(['group_id'], ['enterprise_group.id'], name=op.f('fk_quota_allocation_group_id_enterprise_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_allocation')),
    sa.UniqueConstraint('code', name=op.f('uq_quota_allocation_code'))
    )
    with op.batch_alter_table('quota_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_allocation_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_allocation_year'), ['year'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quota_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_allocation_year'))
        batch_op.drop_index(batch_op.f('ix_quota_allocation_facility_id'))

    op.drop_table('quota_allocation')
    with op.batch_alter_table('ledger_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_event_facility_id'))

    op.drop_table('ledger_event')
    with op.batch_alter_table('ledger_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_alert_finding_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_alert_facility_id'))

    op.drop_table('ledger_alert')
    with op.batch_alter_table('ledger_input', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_input_event_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_input_batch_id'))

    op.drop_table('ledger_input')
    op.drop_table('ledger_import')
    op.drop_table('ledger_head')
    with op.batch_alter_table('ledger_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_finding_scan_id'))

    op.drop_table('ledger_finding')
    with op.batch_alter_table('ledger_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_batch_event_id'))

    op.drop_table('ledger_batch')
