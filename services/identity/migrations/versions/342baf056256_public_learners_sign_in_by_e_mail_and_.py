"""public learners sign in by e-mail and verify it with a mailed code

Revision ID: 342baf056256
Revises: 3f6a9b1c7d42
Create Date: 2026-11-23 20:27:33.034251

A public learner (社会学习者, no school) registers with an e-mail address: `users.login_email` keeps it
normalised, one account each, to sign in with; `email_verifications` keeps the mailed codes as digests.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db  # noqa: F401  (custom column types)

revision: str = '342baf056256'
down_revision: str | Sequence[str] | None = '3f6a9b1c7d42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'email_verifications',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('expires_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.Column('used_at', servicekit.db.UTCDateTime(), nullable=True),
        sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_email_verifications_user_id'), 'email_verifications', ['user_id'], unique=False)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('login_email', sa.String(length=200), nullable=True))
        batch.create_unique_constraint('uq_users_login_email', ['login_email'])


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('uq_users_login_email', type_='unique')
        batch.drop_column('login_email')
    op.drop_index(op.f('ix_email_verifications_user_id'), table_name='email_verifications')
    op.drop_table('email_verifications')
