"""policies name the video spec a school follows (video_spec); Henan's layer (province 41) names Henan's

Revision ID: c0ffee000004
Revises: c0ffee000003
Create Date: 2026-11-23 19:20:00

The media service checked a video against a profile picked by the school's province (43 was bound to
Changsha University of Science & Technology's rules). The spec is now a policy setting, resolved through
platform → province → school like the numbers. Henan's standard (seed 004 annex 2) names its spec: the
migration files that as a new version of province 41's layer (its first version stays as it was filed), from
the start like the first, with the first's numbers. Nothing else changes: the platform default is the
strictest common spec, and a school following Changsha's rules files them as its own layer.
"""
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import servicekit.db

revision: str = 'c0ffee000004'
down_revision: str | Sequence[str] | None = 'c0ffee000003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HENAN = "41"
NOTE = "seed 004 annex 2 names its video spec: henan (exactly 25 fps, a constant audio bit rate)"

versions = sa.table(
    'policy_versions',
    sa.column('id', sa.String), sa.column('level', sa.String), sa.column('scope_id', sa.String),
    sa.column('province_code', sa.String), sa.column('version', sa.Integer), sa.column('values_json', sa.Text),
    sa.column('effective_from_term', sa.String), sa.column('note', sa.Text), sa.column('created_by', sa.String),
    sa.column('created_at', servicekit.db.UTCDateTime()),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(versions.c.version, versions.c.values_json, versions.c.effective_from_term)
                        .where(versions.c.level == 'province', versions.c.scope_id == HENAN)
                        .order_by(versions.c.version)).all()
    if any("video_spec" in json.loads(row.values_json) for row in rows):
        return  # the center already named it
    from_start = [row for row in rows if row.effective_from_term == ""]
    values = json.loads(from_start[-1].values_json) if from_start else {
        "video_recommended_min_minutes": 5, "video_recommended_max_minutes": 20}
    values["video_spec"] = "henan"
    op.bulk_insert(versions, [{
        "id": str(uuid.uuid4()), "level": "province", "scope_id": HENAN, "province_code": HENAN,
        "version": max((row.version for row in rows), default=0) + 1, "values_json": json.dumps(values),
        "effective_from_term": "", "note": NOTE, "created_by": "migration", "created_at": datetime.now(UTC),
    }])


def downgrade() -> None:
    op.execute(versions.delete().where(versions.c.level == 'province', versions.c.scope_id == HENAN,
                                       versions.c.created_by == 'migration', versions.c.note == NOTE))
