"""paper: signatures typed in from paper sheets by batch, and counts-only batches

Revision ID: 0016_paper
Revises: 0015_packet_replies
Create Date: 2026-12-02 22:00:00

Paper signatures are signatures (source 'paper', their batch named); counts-only batches
hold numbers. The tallies gain the paper total and paper per demand.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016_paper"
down_revision = "0015_packet_replies"
branch_labels = None
depends_on = None

OLD_DIMENSIONS = "dimension IN ('total', 'demand', 'country')"
NEW_DIMENSIONS = "dimension IN ('total', 'demand', 'country', 'paper', 'paper_demand')"


def upgrade():
    op.create_table(
        "paper_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("collected_by", sa.String(length=200), nullable=False),
        sa.Column("sheets", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("invalid_reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('named', 'counts')", name=op.f("ck_paper_batches_kind_valid")),
        sa.CheckConstraint(
            "state IN ('active', 'invalidated')", name=op.f("ck_paper_batches_state_valid")
        ),
        sa.CheckConstraint("sheets >= 0", name=op.f("ck_paper_batches_sheets_nonnegative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_paper_batches_campaign_id_campaigns"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff_users.id"],
            name=op.f("fk_paper_batches_created_by_staff_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_batches")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("paper_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_batches_campaign_id"), ["campaign_id"], unique=False
        )
    op.create_table(
        "paper_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("n >= 0", name=op.f("ck_paper_counts_n_nonnegative")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["paper_batches.id"],
            name=op.f("fk_paper_counts_batch_id_paper_batches"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["demand_id"], ["demands.id"],
            name=op.f("fk_paper_counts_demand_id_demands"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_counts")),
    )
    with op.batch_alter_table("paper_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_counts_batch_id"), ["batch_id"], unique=False)
    # On SQLite these rebuild the tables; signatures must keep AUTOINCREMENT (see 0006).
    with op.batch_alter_table(
        "signatures", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="online")
        )
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_check_constraint("source_valid", "source IN ('online', 'paper')")
        batch_op.create_index(batch_op.f("ix_signatures_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_signatures_batch_id_paper_batches"),
            "paper_batches", ["batch_id"], ["id"], ondelete="CASCADE",
        )
    # "paper_demand" is longer than the eight characters the dimensions had.
    with op.batch_alter_table("count_tallies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_count_tallies_dimension_valid"), type_="check")
        batch_op.alter_column(
            "dimension", existing_type=sa.String(length=8), type_=sa.String(length=16)
        )
        batch_op.create_check_constraint("dimension_valid", NEW_DIMENSIONS)
    with op.batch_alter_table(
        "count_deltas", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column(
            "dimension", existing_type=sa.String(length=8), type_=sa.String(length=16)
        )


def downgrade():
    # Paper signatures and counts leave with their batches; the worker's daily recount
    # rebuilds the tallies from what remains.
    op.execute("DELETE FROM count_tallies WHERE dimension IN ('paper', 'paper_demand')")
    op.execute("DELETE FROM count_deltas WHERE dimension IN ('paper', 'paper_demand')")
    op.execute("DELETE FROM signatures WHERE source = 'paper'")
    with op.batch_alter_table("count_tallies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_count_tallies_dimension_valid"), type_="check")
        batch_op.alter_column(
            "dimension", existing_type=sa.String(length=16), type_=sa.String(length=8)
        )
        batch_op.create_check_constraint("dimension_valid", OLD_DIMENSIONS)
    with op.batch_alter_table(
        "count_deltas", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column(
            "dimension", existing_type=sa.String(length=16), type_=sa.String(length=8)
        )
    with op.batch_alter_table(
        "signatures", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_signatures_batch_id_paper_batches"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_signatures_batch_id"))
        batch_op.drop_constraint(batch_op.f("ck_signatures_source_valid"), type_="check")
        batch_op.drop_column("batch_id")
        batch_op.drop_column("source")
    with op.batch_alter_table("paper_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_counts_batch_id"))
    op.drop_table("paper_counts")
    with op.batch_alter_table("paper_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_batches_campaign_id"))
    op.drop_table("paper_batches")
