"""sign-in guards, captchas, password resets, credential sheets, mail outbox

Revision ID: 5b0c2f9e7a41
Revises: e76478e62c67
Create Date: 2026-11-23 17:25:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db

# revision identifiers, used by Alembic.
revision: str = '5b0c2f9e7a41'
down_revision: str | Sequence[str] | None = 'e76478e62c67'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sign_in_guards',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('captcha_challenges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('guard_key', sa.String(length=80), nullable=False),
    sa.Column('answer_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_captcha_challenges_guard_key'), 'captcha_challenges', ['guard_key'], unique=False)
    op.create_table('password_reset_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_password_reset_tokens_user_id'), 'password_reset_tokens', ['user_id'], unique=False)
    op.create_table('credential_sheets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('accounts', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('downloaded_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_credential_sheets_created_by'), 'credential_sheets', ['created_by'], unique=False)
    op.create_table('outgoing_mail',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outgoing_mail_next_attempt_at'), 'outgoing_mail', ['next_attempt_at'], unique=False)
    op.create_index(op.f('ix_outgoing_mail_sent_at'), 'outgoing_mail', ['sent_at'], unique=False)
    # Failures now live in sign_in_guards (accounts and unknown logins alike).
    with op.batch_alter_table('users') as batch:
        batch.drop_column('failed_attempts')
        batch.drop_column('locked_until')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked_until', servicekit.db.UTCDateTime(), nullable=True))
    op.drop_index(op.f('ix_outgoing_mail_sent_at'), table_name='outgoing_mail')
    op.drop_index(op.f('ix_outgoing_mail_next_attempt_at'), table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
    op.drop_index(op.f('ix_credential_sheets_created_by'), table_name='credential_sheets')
    op.drop_table('credential_sheets')
    op.drop_index(op.f('ix_password_reset_tokens_user_id'), table_name='password_reset_tokens')
    op.drop_table('password_reset_tokens')
    op.drop_index(op.f('ix_captcha_challenges_guard_key'), table_name='captcha_challenges')
    op.drop_table('captcha_challenges')
