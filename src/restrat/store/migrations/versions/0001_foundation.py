"""foundation: catalog, registry, quota history, users

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 17:53:00.990308
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_setting',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_setting'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_key', sa.String(length=80), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('chain_stage',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_chain_stage'))
    )
    op.create_table('country_production',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mcs_edition', sa.String(length=10), nullable=False),
    sa.Column('data_year', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('mine_production_t_reo', sa.Float(), nullable=True),
    sa.Column('estimated', sa.Boolean(), nullable=False),
    sa.Column('raw_value', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_country_production'))
    )
    with op.batch_alter_table('country_production', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_country_production_data_year'), ['data_year'], unique=False)

    op.create_table('country_reserves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mcs_edition', sa.String(length=10), nullable=False),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('reserves_t_reo', sa.Float(), nullable=True),
    sa.Column('raw_value', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_country_reserves'))
    )
    op.create_table('element',
    sa.Column('symbol', sa.String(length=3), nullable=False),
    sa.Column('atomic_number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('atomic_weight_g_per_mol', sa.Float(), nullable=False),
    sa.Column('oxide_formula', sa.String(length=12), nullable=False),
    sa.Column('oxide_to_metal_factor', sa.Float(), nullable=False),
    sa.Column('cn_class', sa.String(length=12), nullable=False),
    sa.Column('cn_class_status', sa.String(length=12), nullable=False),
    sa.Column('cn_class_note', sa.Text(), nullable=False),
    sa.Column('quota_ore_type', sa.String(length=40), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', name=op.f('pk_element')),
    sa.UniqueConstraint('atomic_number', name=op.f('uq_element_atomic_number'))
    )
    op.create_table('enterprise',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise')),
    sa.UniqueConstraint('code', name=op.f('uq_enterprise_code'))
    )
    op.create_table('enterprise_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_group')),
    sa.UniqueConstraint('code', name=op.f('uq_enterprise_group_code'))
    )
    op.create_table('quota_national',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ore_type', sa.String(length=12), nullable=False),
    sa.Column('batch', sa.String(length=12), nullable=False),
    sa.Column('tonnes_reo', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_national'))
    )
    with op.batch_alter_table('quota_national', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_national_year'), ['year'], unique=False)

    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_app_user_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('element_class',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=3), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('class', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['element'], ['element.symbol'], name=op.f('fk_element_class_element_element')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_element_class'))
    )
    with op.batch_alter_table('element_class', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_element_class_element'), ['element'], unique=False)

    op.create_table('facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('ore_type', sa.String(length=12), nullable=False),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('capacity_t_reo_per_year', sa.Float(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('technology_level', sa.Integer(), nullable=True),
    sa.Column('custody_model', sa.String(length=20), nullable=False),
    sa.Column('operating_status', sa.String(length=20), nullable=False),
    sa.Column('data_status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint('capacity_t_reo_per_year IS NULL OR capacity_t_reo_per_year >= 0', name=op.f('ck_facility_capacity_nonneg')),
    sa.CheckConstraint('lat >= -90 AND lat <= 90', name=op.f('ck_facility_lat_range')),
    sa.CheckConstraint('lon >= -180 AND lon <= 180', name=op.f('ck_facility_lon_range')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_facility_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['stage'], ['chain_stage.code'], name=op.f('fk_facility_stage_chain_stage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility')),
    sa.UniqueConstraint('code', name=op.f('uq_facility_code'))
    )
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facility_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_facility_stage'), ['stage'], unique=False)

    op.create_table('group_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('share_pct', sa.Float(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.CheckConstraint('share_pct >= 0 AND share_pct <= 100', name=op.f('ck_group_membership_share_range')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_group_membership_dates_ordered')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_group_membership_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['group_id'], ['enterprise_group.id'], name=op.f('fk_group_membership_group_id_enterprise_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_membership'))
    )
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_membership_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_membership_group_id'), ['group_id'], unique=False)

    op.create_table('hs_code',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=6), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('element', sa.String(length=3), nullable=True),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('supervision_code', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['element'], ['element.symbol'], name=op.f('fk_hs_code_element_element')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_hs_code'))
    )
    op.create_table('product_form',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['stage'], ['chain_stage.code'], name=op.f('fk_product_form_stage_chain_stage')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_product_form'))
    )
    op.create_table('quota_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=12), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('group_name_en', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ore_type', sa.String(length=12), nullable=False),
    sa.Column('tonnes_reo', sa.Float(), nullable=True),
    sa.Column('share_pct', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['enterprise_group.id'], name=op.f('fk_quota_group_group_id_enterprise_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_group'))
    )
    with op.batch_alter_table('quota_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_group_year'), ['year'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_token_token_sha256'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('quota_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_group_year'))

    op.drop_table('quota_group')
    op.drop_table('product_form')
    op.drop_table('hs_code')
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_membership_group_id'))
        batch_op.drop_index(batch_op.f('ix_group_membership_enterprise_id'))

    op.drop_table('group_membership')
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facility_stage'))
        batch_op.drop_index(batch_op.f('ix_facility_enterprise_id'))

    op.drop_table('facility')
    with op.batch_alter_table('element_class', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_element_class_element'))

    op.drop_table('element_class')
    op.drop_table('app_user')
    with op.batch_alter_table('quota_national', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_national_year'))

    op.drop_table('quota_national')
    op.drop_table('enterprise_group')
    op.drop_table('enterprise')
    op.drop_table('element')
    op.drop_table('country_reserves')
    with op.batch_alter_table('country_production', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_country_production_data_year'))

    op.drop_table('country_production')
    op.drop_table('chain_stage')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('app_setting')
