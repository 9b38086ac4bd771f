"""Building a visit's packets: one snapshot, one folder, one packet per official, one ZIP.

A build is recorded first (queued) with a job for the one worker (``flask worker``), or run
at once by the ``flask packets build`` command. Progress is written on its own short
transactions so that the page polling it sees it move, and a failure is stored on the
build. A worker killed mid-build leaves its job to be claimed again, which builds anew.
Earlier builds are never touched: each has its own folder and fresh packet identifiers.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from campaign import audit, jobs
from campaign.extensions import db
from campaign.jobs import Job
from campaign.packets.models import Packet, PacketBuild
from campaign.partners.services import named_in_letters
from campaign.timeutil import utcnow
from campaign.transactions import read_only
from campaign.urls import public_base
from campaign.visits.models import Visit

log = logging.getLogger(__name__)
BUILD_JOB = "packets.build"
# Crockford's base32 without I, L, O, U: read aloud or typed from paper without confusion.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_packet_id() -> str:
    """A random public identifier such as ``7K3M-Q9TX-2BWD`` (60 bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


def build_dir(build: PacketBuild) -> Path:
    """The folder holding a build's files."""
    return Path(current_app.config["PACKET_DIR"]) / build.key


def zip_name(build: PacketBuild) -> str:
    """The file name of a build's ZIP."""
    return f"{build.visit.slug}-{build.key}.zip"


def _undelivered_builds(query, running_too: bool = False):  # noqa: ANN001, ANN202 - a Select
    delivered = select(Packet.build_id).where(Packet.delivered_on.is_not(None))
    states = ("done", "failed", "queued", "running") if running_too else ("done", "failed")
    return db.session.scalars(
        query.where(
            PacketBuild.files_removed_at.is_(None),
            PacketBuild.state.in_(states),
            PacketBuild.id.not_in(delivered),
        )
    ).all()


def _remove_files(builds: list[PacketBuild], reason: str) -> int:
    now = utcnow()
    for build in builds:
        if build.state in ("done", "failed"):
            shutil.rmtree(build_dir(build), ignore_errors=True)
        # A build still running removes its files itself when it ends (``_run``).
        build.files_removed_at = now
        audit.record(None, "packet_build", build.id, "remove_files", reason)
    return len(builds)


def remove_undelivered_files(campaign_ids: set[int], reason: str) -> int:
    """Delete the files of undelivered builds for these campaigns (a supporter erased).

    A build still queued or running is marked too, and removes its files when it ends.
    Delivered packets are the record of what was handed over, and stay.
    """
    query = select(PacketBuild).join(Visit).where(Visit.campaign_id.in_(campaign_ids))
    return _remove_files(list(_undelivered_builds(query, running_too=True)), reason)


def purge_old_files(days: int) -> int:
    """Delete the files of undelivered builds older than ``days``; returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    query = select(PacketBuild).where(PacketBuild.created_at < cutoff)
    return _remove_files(list(_undelivered_builds(query)), "retention")


class BuildError(ValueError):
    """A build that cannot be made: the visit addresses no official or includes no demand."""


def create_build(visit: Visit, actor) -> PacketBuild:  # noqa: ANN001 - StaffUser or None
    """Record a new build of ``visit`` at the present moment (not started yet)."""
    if not visit.officials or not visit.demands:
        raise BuildError("A visit needs at least one official and one demand to build packets.")
    build = PacketBuild(
        base_url=public_base(),
        visit=visit,
        key=secrets.token_hex(8),
        state="queued",
        snapshot_at=utcnow().replace(microsecond=0),
        created_by=actor.id if actor is not None else None,
        partners_json=json.dumps(named_in_letters(visit.campaign_id), ensure_ascii=False),
    )
    db.session.add(build)
    db.session.flush()
    audit.record(actor, "visit", visit.id, "build_packets", "", build=build.id)
    return build


def _set(build_id: int, **values) -> None:
    # Own short transaction: progress is visible while the build's read goes on.
    with db.engine.begin() as conn:
        conn.execute(
            update(PacketBuild)
            .where(PacketBuild.id == build_id)
            .values(progress_at=utcnow(), **values)
        )


def run_build(build_id: int, on_progress: Callable[[int, int], None] | None = None) -> None:
    """Build every packet of a recorded build; marks it done or failed."""
    db.session.rollback()  # start the read below on a fresh, lock-free transaction
    with read_only():
        build = db.session.get(PacketBuild, build_id)
        if build is None or build.state not in ("queued", "running"):
            return
        folder = build_dir(build)
    # A worker killed mid-build left part of it here: this attempt starts from nothing,
    # so the folder ends holding exactly the packets recorded, once.
    shutil.rmtree(folder, ignore_errors=True)
    try:
        with read_only():
            db.session.rollback()
            if db.engine.dialect.name == "postgresql":
                # One snapshot for every count and name of the build, whatever moderators
                # or supporters do meanwhile (SQLite's read transaction already is one).
                db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            build = db.session.get(PacketBuild, build_id)
            _run(build, folder, on_progress)
    except Exception as exc:  # noqa: BLE001 - any failure is reported on the build
        log.exception("packet build %s failed", build_id)
        db.session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        _set(build_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:2000],
             finished_at=utcnow())  # fmt: skip
        return


def _run(build: PacketBuild, folder: Path, on_progress) -> None:  # noqa: ANN001
    # Imported here: ReportLab is only needed by the process that builds.
    from campaign.packets.letter import plan_units, sha256_file, write_packet

    visit = build.visit
    snapshot = build.snapshot_at
    if not visit.officials:
        raise ValueError("the visit addresses no officials")
    if not visit.demands:
        raise ValueError("the visit includes no demands")
    total = plan_units(visit, snapshot)
    _set(build.id, state="running", total=total, done=0)
    done = 0
    reported = 0

    def tick(n: int) -> None:
        nonlocal done, reported
        done += n
        if on_progress:
            on_progress(done, total)
        if done - reported >= max(500, total // 100):
            reported = done
            _set(build.id, done=done)

    base_url = build.base_url
    results = []
    for official in visit.officials:
        packet_id = new_packet_id()
        results.append(
            (
                official,
                write_packet(
                    folder / packet_id,
                    visit,
                    official,
                    packet_id,
                    snapshot,
                    base_url,
                    tick,
                    partners=build.partner_names,
                ),
            )  # fmt: skip
        )
    archive = folder / zip_name(build)
    write_zip(folder, [r.packet_id for _o, r in results], archive, snapshot)
    db.session.rollback()  # end the long read before writing
    # The records below read then write: on SQLite that transaction must take the write
    # lock at BEGIN, or a signature committed meanwhile would fail it ("database is locked").
    with read_only(False):
        for official, result in results:
            db.session.add(
                Packet(
                    id=result.packet_id,
                    build_id=build.id,
                    official_id=official.id,
                    locale=result.locale,
                    counts_only=visit.counts_only,
                    supporters=result.supporters,
                    named=result.named,
                    counts_json=json.dumps(
                        [c.as_dict() for c in result.counts], ensure_ascii=False
                    ),
                    files_json=json.dumps(result.files, sort_keys=True),
                    pages=result.pages,
                )
            )
        build = db.session.get(PacketBuild, build.id)
        build.state = "done"
        build.done = build.total = total
        build.finished_at = utcnow()
        build.zip_sha256 = sha256_file(archive)
        db.session.commit()
        db.session.refresh(build)
        if build.files_removed_at is not None:
            # A supporter erased their data while this build ran: its files may name them.
            shutil.rmtree(folder, ignore_errors=True)


def write_zip(folder: Path, packet_ids: list[str], archive: Path, snapshot: datetime) -> None:
    """Zip the packets' folders with fixed times and order, so equal inputs give equal bytes."""
    stamp = snapshot.timetuple()[:6]
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for packet_id in sorted(packet_ids):
            for path in sorted((folder / packet_id).iterdir()):
                info = zipfile.ZipInfo(f"{packet_id}/{path.name}", date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with path.open("rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)


def latest_builds(visit_ids: list[int]) -> dict[int, PacketBuild]:
    """The newest build of each visit."""
    latest: dict[int, PacketBuild] = {}
    for b in db.session.scalars(
        select(PacketBuild)
        .where(PacketBuild.visit_id.in_(visit_ids))
        .order_by(PacketBuild.created_at, PacketBuild.id)
    ):
        latest[b.visit_id] = b
    return latest


# -- running builds in the background ------------------------------------------------------


def start(build: PacketBuild) -> Job:
    """Ask the worker to run a recorded build; it runs once the caller commits."""
    return jobs.enqueue(BUILD_JOB, build_id=build.id)


@jobs.handler(BUILD_JOB)
def _build_job(build_id: int) -> None:
    # Run again after a worker died mid-build, it builds anew into fresh packet ids.
    run_build(build_id)
