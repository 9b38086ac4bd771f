"""packet replies: what officials answered to delivered packets

Revision ID: 0015_packet_replies
Revises: 0014_my_page
Create Date: 2026-12-02 21:40:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_packet_replies"
down_revision = "0014_my_page"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "packet_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("packet_id", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("file_type", sa.String(length=40), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "how IN ('letter', 'email', 'meeting', 'statement', 'other')",
            name=op.f("ck_packet_replies_how_valid"),
        ),
        sa.CheckConstraint(
            "locale IN ('en', 'zh_Hans', 'zh_Hant')", name=op.f("ck_packet_replies_locale_valid")
        ),
        sa.ForeignKeyConstraint(
            ["packet_id"], ["packets.id"],
            name=op.f("fk_packet_replies_packet_id_packets"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff_users.id"],
            name=op.f("fk_packet_replies_recorded_by_staff_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packet_replies")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("packet_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_packet_replies_packet_id"), ["packet_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("packet_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packet_replies_packet_id"))
    op.drop_table("packet_replies")
