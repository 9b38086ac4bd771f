"""tallies: counts kept as a few rows per campaign, moved by appended deltas

Revision ID: 0008_tallies
Revises: 0007_jobs
Create Date: 2026-12-02 01:10:00

The tallies start from the signatures already stored, by the same rule as the app's
``counted_signatures``: confirmed, and confirmed by the time counts stopped (a counting
pause, or the campaign's closing).
"""

from datetime import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_tallies"
down_revision = "0007_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "count_tallies",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dimension IN ('total', 'demand', 'country')",
            name=op.f("ck_count_tallies_dimension_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_count_tallies_campaign_id_campaigns"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "dimension", "key", name=op.f("pk_count_tallies")),
    )
    op.create_table(
        "count_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_count_deltas_campaign_id_campaigns"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_deltas")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("count_deltas", schema=None) as batch_op:
        batch_op.create_index("ix_count_deltas_campaign", ["campaign_id", "id"], unique=False)
    _tally_existing()


def _tally_existing():
    conn = op.get_bind()
    paused = conn.execute(
        sa.text("SELECT value FROM settings WHERE key = 'counting_paused_at'")
    ).scalar()
    paused_at = datetime.fromisoformat(paused) if paused else None
    campaigns = conn.execute(sa.text("SELECT id, state, closed_at FROM campaigns")).all()
    for campaign_id, state, closed_at in campaigns:
        if isinstance(closed_at, str):
            closed_at = datetime.fromisoformat(closed_at)
        closed = closed_at if state in ("closed", "archived") else None
        until = min((t for t in (paused_at, closed) if t), default=None)
        params = {"c": campaign_id, "until": until}
        frozen = " AND s.confirmed_at <= :until" if until else ""
        link_frozen = " AND d.confirmed_at <= :until" if until else ""
        counted = f"s.campaign_id = :c AND s.state = 'confirmed'{frozen}"
        conn.execute(
            sa.text(
                "INSERT INTO count_tallies (campaign_id, dimension, key, n) "
                f"SELECT :c, 'total', '', count(*) FROM signatures s WHERE {counted}"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO count_tallies (campaign_id, dimension, key, n) "
                f"SELECT :c, 'country', s.country, count(*) FROM signatures s WHERE {counted} "
                "GROUP BY s.country"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO count_tallies (campaign_id, dimension, key, n) "
                "SELECT :c, 'demand', CAST(d.demand_id AS VARCHAR(16)), count(*) "
                "FROM signature_demands d JOIN signatures s ON s.id = d.signature_id "
                f"WHERE {counted} AND d.confirmed_at IS NOT NULL{link_frozen} "
                "GROUP BY d.demand_id"
            ),
            params,
        )


def downgrade():
    with op.batch_alter_table("count_deltas", schema=None) as batch_op:
        batch_op.drop_index("ix_count_deltas_campaign")
    op.drop_table("count_deltas")
    op.drop_table("count_tallies")
