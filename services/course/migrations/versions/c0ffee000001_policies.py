"""policies: province and school layers over the platform defaults, versioned, effective from a term;
class hours on courses and runs. Henan's standard (seed 004 annex 2) is filed as province 41's first version.

Revision ID: c0ffee000001
Revises: a5e2c8d14b67
Create Date: 2026-11-23 18:15:00
"""
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import servicekit.db

revision: str = 'c0ffee000001'
down_revision: str | Sequence[str] | None = 'a5e2c8d14b67'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration does not follow later code): services.course.domain.policy.HENAN_PROVINCE_POLICY.
HENAN = {"video_recommended_min_minutes": 5, "video_recommended_max_minutes": 20}


def upgrade() -> None:
    policy_versions = op.create_table(
        'policy_versions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('scope_id', sa.String(length=36), nullable=False),
        sa.Column('province_code', sa.String(length=6), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('values_json', sa.Text(), nullable=False),
        sa.Column('effective_from_term', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('level', 'scope_id', 'version', name='uq_policy_versions_layer_version'),
    )
    with op.batch_alter_table('policy_versions') as batch:
        batch.create_index(batch.f('ix_policy_versions_province_code'), ['province_code'], unique=False)
    with op.batch_alter_table('courses') as batch:
        batch.add_column(sa.Column('class_hours', sa.Float(), nullable=False, server_default='0'))
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('class_hours', sa.Float(), nullable=False, server_default='0'))
    op.bulk_insert(policy_versions, [{
        "id": str(uuid.uuid4()), "level": "province", "scope_id": "41", "province_code": "41", "version": 1,
        "values_json": json.dumps(HENAN), "effective_from_term": "",
        "note": "seed 004 annex 2: 河南省高校精品在线开放课程建设标准（试行）", "created_by": "migration",
        "created_at": datetime.now(UTC),
    }])


def downgrade() -> None:
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('class_hours')
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('class_hours')
    with op.batch_alter_table('policy_versions') as batch:
        batch.drop_index(batch.f('ix_policy_versions_province_code'))
    op.drop_table('policy_versions')
