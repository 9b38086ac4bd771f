"""partners: co-signing organisations, supporters' consent to each, partners' logins

Revision ID: 0017_partners
Revises: 0016_paper
Create Date: 2026-12-03 09:30:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017_partners"
down_revision = "0016_paper"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'organiser', 'moderator')"
NEW_ROLES = "role IN ('admin', 'organiser', 'moderator', 'partner')"


def upgrade():
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("logo_type", sa.String(length=20), nullable=False),
        sa.Column("logo_sha256", sa.String(length=64), nullable=False),
        sa.Column("named_in_letters", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_partners_campaign_id_campaigns"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_campaign_id"), ["campaign_id"], unique=False)
    op.create_table(
        "partner_consents",
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"],
            name=op.f("fk_partner_consents_partner_id_partners"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signatures.id"],
            name=op.f("fk_partner_consents_signature_id_signatures"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signature_id", "partner_id", name=op.f("pk_partner_consents")),
    )
    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_consents_partner", ["partner_id", "signature_id"], unique=False
        )
    # A plain ADD COLUMN, so SQLite keeps the table as it is.
    op.add_column(
        "submissions",
        sa.Column("partner_ids", sa.String(length=500), nullable=False, server_default=""),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_staff_users_partner_id"), ["partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_users_partner_id_partners"),
            "partners", ["partner_id"], ["id"], ondelete="SET NULL",
        )
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_staff_roles_role_valid"), type_="check")
        batch_op.create_check_constraint("role_valid", NEW_ROLES)
    op.add_column(
        "packet_builds",
        sa.Column("partners_json", sa.Text(), nullable=False, server_default="[]"),
    )


def downgrade():
    with op.batch_alter_table("packet_builds", schema=None) as batch_op:
        batch_op.drop_column("partners_json")
    # Partners' logins lose their only role: deactivated, kept for the audit trail.
    op.execute(
        "UPDATE staff_users SET active = false WHERE id IN "
        "(SELECT user_id FROM staff_roles WHERE role = 'partner')"
    )
    op.execute("DELETE FROM staff_roles WHERE role = 'partner'")
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_staff_roles_role_valid"), type_="check")
        batch_op.create_check_constraint("role_valid", OLD_ROLES)
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_users_partner_id_partners"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_staff_users_partner_id"))
        batch_op.drop_column("partner_id")
    with op.batch_alter_table(
        "submissions", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("partner_ids")
    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_consents_partner")
    op.drop_table("partner_consents")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_campaign_id"))
    op.drop_table("partners")
