"""``flask packets build``: build a visit's packets now, in this process."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from campaign.extensions import db
from campaign.packets import builder
from campaign.packets.models import PacketBuild
from campaign.visits.models import Visit

packets_group = AppGroup("packets", help="Letter packets for visits.")


@packets_group.command("build")
@click.argument("visit_slug")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy the ZIP and each packet's files to this folder.",
)
def build_command(visit_slug: str, out_dir: Path | None) -> None:
    """Build one packet per official of VISIT_SLUG from the signatures as they are now."""
    visit = db.session.scalar(select(Visit).where(Visit.slug == visit_slug))
    if visit is None:
        raise click.ClickException(f"No visit with the slug {visit_slug!r}.")
    try:
        build = builder.create_build(visit, None)
    except builder.BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    build_id = build.id
    click.echo(f"Snapshot {build.snapshot_at.isoformat()}Z; verification links on {build.base_url}")
    with click.progressbar(length=1, label="Building packets", show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        builder.run_build(build_id, on_progress=progress)
    db.session.expire_all()
    build = db.session.get(PacketBuild, build_id)
    if build.state != "done":
        raise click.ClickException(f"The build failed: {build.error}")
    folder = builder.build_dir(build)
    for packet in build.packets:
        click.echo(
            f"{packet.id}  {packet.official.name}: {packet.supporters} supporters, "
            f"{packet.named} named, {packet.pages} pages"
        )
    archive = folder / builder.zip_name(build)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, out_dir, dirs_exist_ok=True)
        archive = out_dir / archive.name
    click.echo(f"ZIP: {archive} (SHA-256 {build.zip_sha256})")
