"""bounces: the suppression list, bounced and suppressed mail, bounced signatures

Revision ID: 0013_bounces
Revises: 0012_packet_small_countries
Create Date: 2026-12-02 21:30:00

A permanent SMTP refusal marks the message bounced and puts the address, as a keyed hash,
on the suppression list; its signatures record when, for the staff's counts.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_bounces"
down_revision = "0012_packet_small_countries"
branch_labels = None
depends_on = None

OLD_STATES = "state IN ('queued', 'sending', 'sent', 'failed')"
NEW_STATES = "state IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed')"


def upgrade():
    op.create_table(
        "mail_suppressions",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('bounce', 'complaint')", name=op.f("ck_mail_suppressions_reason_valid")
        ),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_mail_suppressions")),
    )
    # On SQLite this rebuilds the table, which must keep AUTOINCREMENT (see 0006).
    with op.batch_alter_table(
        "outbox_messages", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_messages_state_valid"), type_="check")
        batch_op.create_check_constraint("state_valid", NEW_STATES)
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bounced_at", sa.DateTime(), nullable=True))


def downgrade():
    # A bounced message will not be sent again; one never sent was never going to be.
    op.execute("UPDATE outbox_messages SET state = 'failed' WHERE state IN ('bounced', 'suppressed')")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("bounced_at")
    # On SQLite this rebuilds the table, which must keep AUTOINCREMENT (see 0006).
    with op.batch_alter_table(
        "outbox_messages", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_messages_state_valid"), type_="check")
        batch_op.create_check_constraint("state_valid", OLD_STATES)
    op.drop_table("mail_suppressions")
