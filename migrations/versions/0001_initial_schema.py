"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 13:54:52.260705
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    op.create_table('request_number_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_request_number_counter'))
    )
    op.create_table('service',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('group', sa.String(length=100), nullable=False),
    sa.Column('type', sa.Enum('realtime', 'batch', 'blackbox', name='servicetype', native_enum=False, length=16), nullable=False),
    sa.Column('keywords', sa.String(length=500), nullable=False),
    sa.Column('agency_responsible', sa.String(length=200), nullable=False),
    sa.Column('review', sa.Boolean(), nullable=False),
    sa.Column('service_notice', sa.String(length=500), nullable=True),
    sa.Column('target_days', sa.Double(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_service'))
    )
    op.create_geospatial_table('service_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('intake', sa.Enum('accepted', 'pending_review', 'rejected', name='intake', native_enum=False, length=16), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='status', native_enum=False, length=8), nullable=False),
    sa.Column('status_notes', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('agency_responsible', sa.String(length=200), nullable=True),
    sa.Column('service_notice', sa.String(length=500), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('address_id', sa.String(length=64), nullable=True),
    sa.Column('zipcode', sa.String(length=10), nullable=True),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('long', sa.Double(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('media_url', sa.String(length=2048), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('device_id', sa.String(length=200), nullable=True),
    sa.Column('account_id', sa.String(length=200), nullable=True),
    sa.Column('duplicate_of', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_service_request_api_key_id_api_key')),
    sa.ForeignKeyConstraint(['service_code'], ['service.code'], name=op.f('fk_service_request_service_code_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request')),
    sa.UniqueConstraint('number', name=op.f('uq_service_request_number')),
    sa.UniqueConstraint('token', name=op.f('uq_service_request_token'))
    )
    op.create_geospatial_index('idx_service_request_location', 'service_request', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_service_request_requested_at_id', 'service_request', ['requested_at', 'id'], unique=False)
    op.create_index(op.f('ix_service_request_service_code'), 'service_request', ['service_code'], unique=False)
    op.create_index('ix_service_request_updated_at_id', 'service_request', ['updated_at', 'id'], unique=False)
    op.create_table('replay_guard',
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('guard', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('service_request_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_replay_guard_api_key_id_api_key')),
    sa.ForeignKeyConstraint(['service_request_id'], ['service_request.id'], name=op.f('fk_replay_guard_service_request_id_service_request')),
    sa.PrimaryKeyConstraint('api_key_id', 'guard', name=op.f('pk_replay_guard'))
    )


def downgrade() -> None:
    
    op.drop_table('replay_guard')
    op.drop_index('ix_service_request_updated_at_id', table_name='service_request')
    op.drop_index(op.f('ix_service_request_service_code'), table_name='service_request')
    op.drop_index('ix_service_request_requested_at_id', table_name='service_request')
    op.drop_geospatial_index('idx_service_request_location', table_name='service_request', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('service_request')
    op.drop_table('service')
    op.drop_table('request_number_counter')
    op.drop_table('api_key')
