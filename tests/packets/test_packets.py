"""Letter packets: what they say, who they name, and that they can be verified and rebuilt."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.csvsafe import safe_cell
from campaign.extensions import db
from campaign.packets import builder
from campaign.packets.letter import annex_rows, write_packet
from campaign.packets.models import Packet, PacketBuild
from campaign.signatures.erasure import erase
from campaign.signatures.models import Signature
from campaign.visits.models import Visit
from tests.packets.helpers import (
    EXCLUDED,
    NAMED,
    SNAPSHOT,
    UNNAMED,
    add_people,
    add_visit,
    pdf_text,
    qr_payloads,
)

BASE = "https://petition.example.org"


def _campaign(app):
    from campaign.campaigns.models import Campaign

    return db.session.scalar(select(Campaign).where(Campaign.slug == "us-china-human-rights-2011"))


def _build(app, visit_id: int, snapshot=SNAPSHOT) -> PacketBuild:
    """Record a build at ``snapshot`` and run it here, as the worker would."""
    visit = db.session.get(Visit, visit_id)
    build = builder.create_build(visit, None)
    build.snapshot_at = snapshot
    db.session.commit()
    build_id = build.id
    builder.run_build(build_id)
    db.session.expire_all()
    return db.session.get(PacketBuild, build_id)


@pytest.fixture
def visit_id(app, seeded):
    with app.app_context():
        campaign = _campaign(app)
        add_people(campaign)
        visit = add_visit(campaign)
        db.session.commit()
        return visit.id


def _packet(build: PacketBuild, language: str) -> Packet:
    return next(p for p in build.packets if p.official.language == language)


def _files(app, packet: Packet) -> Path:
    return builder.build_dir(packet.build) / packet.id


def test_counts_and_names_are_exactly_the_consenting_confirmed_supporters(app, visit_id):
    with app.app_context():
        build = _build(app, visit_id)
        assert build.state == "done", build.error
        packet = _packet(build, "en")
        folder = _files(app, packet)
        text = pdf_text((folder / "letter.pdf").read_bytes())

        counts = {c["position"]: c for c in packet.counts}
        # Demand 1: 王小明, José, Anna, <script>, Private, 陳美華 (held, invalidated,
        # unconfirmed and the one confirmed after the snapshot are left out).
        assert counts[1]["supporters"] == 6
        assert counts[1]["named"] == 4
        assert counts[2]["supporters"] == 4
        assert counts[2]["named"] == 3
        assert packet.supporters == 7
        assert packet.named == 5

        for name in NAMED - {"王小明"}:
            assert name in text, name
        assert "王小明 (Wang Xiaoming)" in text  # pinyin beside the name in English
        for name in UNNAMED | EXCLUDED:
            assert name not in text, name
        assert "and 2 more supporters who asked not to be named" in text
        assert "and 1 more supporter who asked not to be named" in text
        assert "Dear Official en," in text
        assert "Ministry en" in text
        assert f"Packet {packet.id}" in text
        assert re.search(rf"Page 1\s*of {packet.pages}\b", text)
        assert "Anna 李 (" not in text  # a name with a Latin part gets no pinyin

        named_in_annex = {row[5] for row in annex_rows(folder / "annex.csv")[1:]}
        assert named_in_annex == {
            "王小明",
            "José Müller",
            "Anna 李",
            '<script>alert("x")</script>',
            '\'=HYPERLINK("http://evil")',  # neutralised for spreadsheets
        }


def test_chinese_letter_has_chinese_text_and_no_pinyin(app, visit_id):
    with app.app_context():
        build = _build(app, visit_id)
        packet = _packet(build, "zh_Hans")
        text = pdf_text((_files(app, packet) / "letter.pdf").read_bytes())
        assert "王小明" in text
        assert "Wang Xiaoming" not in text
        assert "Anna 李" in text
        assert "José Müller" in text
        assert re.search(rf"第 1\s*页，共 {packet.pages} 页", text)
        assert "陈美华" not in text
        assert "陳美華" not in text
        assert "事由：Test visit" in text  # no subject written: the visit's title


def test_chinese_letter_names_the_visit_in_chinese(app, visit_id):
    from campaign.visits.models import VisitLetter

    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.letters.append(VisitLetter(locale="zh_Hans", subject="测试访问", body="致函。"))
        db.session.commit()
        build = _build(app, visit_id)
        zh = pdf_text((_files(app, _packet(build, "zh_Hans")) / "letter.pdf").read_bytes())
        en = pdf_text((_files(app, _packet(build, "en")) / "letter.pdf").read_bytes())
        assert "事由：测试访问" in zh
        assert "致函。" in zh
        assert "Regarding: Test visit" in en


def test_manifest_hashes_match_files_and_zip(app, visit_id):
    with app.app_context():
        build = _build(app, visit_id)
        folder = builder.build_dir(build)
        archive = folder / builder.zip_name(build)
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == build.zip_sha256
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            for packet in build.packets:
                manifest = json.loads((folder / packet.id / "manifest.json").read_text())
                assert manifest["packet"] == packet.id
                assert manifest["snapshot"] == "2026-11-20T12:00:00Z"
                assert manifest["totals"] == {"supporters": 7, "named": 5}
                for name, digest in manifest["files"].items():
                    data = (folder / packet.id / name).read_bytes()
                    assert hashlib.sha256(data).hexdigest() == digest
                    assert zf.read(f"{packet.id}/{name}") == data
                for name, digest in packet.files.items():
                    assert f"{packet.id}/{name}" in names
                    assert hashlib.sha256(zf.read(f"{packet.id}/{name}")).hexdigest() == digest


def test_same_snapshot_builds_byte_identical_files(app, visit_id, tmp_path):
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        official = visit.officials[0]
        first = write_packet(tmp_path / "a", visit, official, "AAAA-BBBB-CCCC", SNAPSHOT, BASE)
        second = write_packet(tmp_path / "b", visit, official, "AAAA-BBBB-CCCC", SNAPSHOT, BASE)
        assert first.files == second.files
        for name in ("letter.pdf", "annex.csv", "manifest.json"):
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        builder.write_zip(tmp_path, ["a"], tmp_path / "1.zip", SNAPSHOT)
        builder.write_zip(tmp_path, ["a"], tmp_path / "2.zip", SNAPSHOT)
        assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


def test_new_build_never_overwrites_an_earlier_one(app, visit_id):
    with app.app_context():
        first = _build(app, visit_id)
        second = _build(app, visit_id)
        assert first.key != second.key
        assert {p.id for p in first.packets}.isdisjoint({p.id for p in second.packets})
        for packet in first.packets:
            for name, digest in packet.files.items():
                path = _files(app, packet) / name
                assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_qr_code_and_verification_page_agree(app, client, visit_id):
    with app.app_context():
        build = _build(app, visit_id)
        packet = _packet(build, "en")
        pdf = (_files(app, packet) / "letter.pdf").read_bytes()
        packet_id, files, counts = packet.id, packet.files, packet.counts
    [payload] = qr_payloads(pdf)
    assert payload == f"{BASE}/verify/{packet_id}"
    assert payload in pdf_text(pdf).replace("\n", "")

    page = client.get(payload.removeprefix(BASE))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for digest in files.values():
        assert digest in html
    for c in counts:
        assert f"<td>{c['supporters']}</td>" in html
    assert "Ministry en" in html
    assert "2026" in html
    for name in NAMED | UNNAMED:  # nothing personal
        assert name not in html
        assert name.replace('"', "&#34;") not in html
    assert "Official en" not in html  # the office, not the person
    for lang, word in (("en", "Supporters"), ("zh-hans", "支持者"), ("zh-hant", "支持者")):
        localised = client.get(f"/{lang}/verify/{packet_id}")
        assert localised.status_code == 200
        assert word in localised.get_data(as_text=True)
    assert client.get("/verify/NOPE-NOPE-NOPE").status_code == 404


def test_erased_signature_disappears_from_later_builds(app, visit_id):
    with app.app_context():
        _build(app, visit_id)
        sig = db.session.scalar(select(Signature).where(Signature.name == "José Müller"))
        assert erase(sig.email) == 1
        db.session.commit()
        later = _build(app, visit_id)
        packet = _packet(later, "en")
        text = pdf_text((_files(app, packet) / "letter.pdf").read_bytes())
        assert "José Müller" not in text
        assert {c["position"]: c["supporters"] for c in packet.counts}[1] == 5


def test_counts_only_packets_name_nobody(app, seeded):
    with app.app_context():
        campaign = _campaign(app)
        add_people(campaign)
        visit = add_visit(campaign, languages=("en",), counts_only=True, paper="Letter")
        db.session.commit()
        build = _build(app, visit.id)
        packet = build.packets[0]
        folder = _files(app, packet)
        text = pdf_text((folder / "letter.pdf").read_bytes())
        for name in NAMED | UNNAMED:
            assert name not in text
        assert "6 confirmed supporters" in text
        assert "names none of the supporters" in text
        rows = annex_rows(folder / "annex.csv")
        assert rows[0] == ["packet", "demand", "demand_title", "supporters"]
        assert [r[3] for r in rows[1:]] == ["6", "4"]
        assert packet.named == 0
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["counts_only"] is True
        assert manifest["paper"] == "Letter"


def test_failed_build_is_reported_and_leaves_no_files(app, visit_id, monkeypatch):
    def explode(*args, **kwargs):
        raise OSError("disk full")

    from campaign.packets import letter

    monkeypatch.setattr(letter, "write_packet", explode)
    with app.app_context():
        build = _build(app, visit_id)
        assert build.state == "failed"
        assert "disk full" in build.error
        assert build.finished_at is not None
        assert not builder.build_dir(build).exists()
        assert build.packets == []


def test_a_visit_without_officials_is_refused_by_the_view_and_the_cli_alike(app, visit_id, runner):
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.officials = []
        db.session.commit()
        with pytest.raises(builder.BuildError, match="at least one official"):
            builder.create_build(visit, None)
        db.session.rollback()
        slug = visit.slug
    result = runner.invoke(args=["packets", "build", slug])
    assert result.exit_code != 0
    assert "at least one official" in result.output
    with app.app_context():
        assert db.session.scalar(select(PacketBuild.id)) is None


def test_progress_reaches_the_total(app, visit_id):
    seen = []
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        build = builder.create_build(visit, None)
        build.snapshot_at = SNAPSHOT
        db.session.commit()
        builder.run_build(build.id, on_progress=lambda done, total: seen.append((done, total)))
    done, total = seen[-1]
    # Two officials x (2 demands + 7 named rows).
    assert total == 2 * (2 + 7)
    assert done == total
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


def test_cli_build_writes_out_folder(app, runner, visit_id, tmp_path):
    result = runner.invoke(args=["packets", "build", "test-visit", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ZIP:" in result.output
    zips = list(tmp_path.glob("test-visit-*.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as zf:
        assert sum(n.endswith("letter.pdf") for n in zf.namelist()) == 2
    missing = runner.invoke(args=["packets", "build", "no-such-visit"])
    assert missing.exit_code != 0
    assert "No visit" in missing.output


def test_seed_loads_the_sample_visit_once(app, runner):
    first = runner.invoke(args=["campaign", "seed"])
    second = runner.invoke(args=["campaign", "seed"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "Already present: visit 'hu-jintao-state-visit-2011'" in second.output
    with app.app_context():
        visit = db.session.scalar(select(Visit).where(Visit.slug == "hu-jintao-state-visit-2011"))
        assert (str(visit.starts_on), str(visit.ends_on), str(visit.deadline)) == (
            "2011-01-18",
            "2011-01-21",
            "2011-01-17",
        )
        titles = {o.title: o for o in visit.officials}
        assert set(titles) == {"President of the United States", "Secretary of State"}
        assert "1600 Pennsylvania Avenue NW" in titles["President of the United States"].address
        assert "2201 C Street NW" in titles["Secretary of State"].address
        assert len(visit.demands) == 7
        assert {letter.locale for letter in visit.letters} == {"en", "zh_Hans", "zh_Hant"}
        assert visit.subject_for("zh_Hant") == "胡錦濤主席對美國進行國事訪問"
        # The Chinese letters carry the whole English letter, quotation included.
        assert "挺身捍衛他人的自由" in visit.letter_for("zh_Hant")
        assert "挺身捍卫他人的自由" in visit.letter_for("zh_Hans")


def test_embedded_truetype_font_when_configured(app, visit_id, tmp_path, monkeypatch):
    import reportlab

    vera = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")
    monkeypatch.setitem(app.config, "PACKET_FONT", vera)
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        write_packet(tmp_path, visit, visit.officials[0], "AAAA-BBBB-CCCC", SNAPSHOT, BASE)
    data = (tmp_path / "letter.pdf").read_bytes()
    assert b"/FontFile2" in data  # the TrueType face is embedded
    text = pdf_text(data)
    assert "José Müller" in text
    assert "王小明 (Wang Xiaoming)" in text


def test_hostile_letter_and_titles_are_text_not_markup(app, visit_id, tmp_path):
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.title = 'Visit <font name="Nope">&amp; <b>bold'
        visit.letters[0].body = (
            '<font name="Nope">x</font> <para>unclosed <b>bold **md** '
            "[link](javascript:alert(1)) <script>alert(2)</script> &lt;b&gt; 1 < 2 & 3"
        )
        official = visit.officials[0]
        official.salutation = "Dear <i>Minister</i> & co,"
        write_packet(tmp_path, visit, official, "AAAA-BBBB-CCCC", SNAPSHOT, BASE)
        db.session.rollback()
    text = pdf_text((tmp_path / "letter.pdf").read_bytes())
    assert 'Regarding: Visit <font name="Nope">&amp; <b>bold' in text
    assert "Dear <i>Minister</i> & co," in text
    assert "<b> 1 < 2 & 3" in text  # the escaped &lt;b&gt; comes out as text
    assert "alert(2)" not in text  # the sanitiser drops scripts with their content


def test_page_total_is_set_in_the_footers_size(app, visit_id):
    from pypdf import PdfReader

    with app.app_context():
        build = _build(app, visit_id)
        data = (_files(app, _packet(build, "en")) / "letter.pdf").read_bytes()
    page = PdfReader(io.BytesIO(data)).pages[0]
    forms = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    total = [f for f in forms if f["/Subtype"] == "/Form"]
    assert total
    # The "of N" part carries its own font and size, the footer's 7.5 pt, not the default.
    assert all(b" 7.5 Tf" in f.get_data() for f in total)


def test_a_campaign_can_keep_small_countries_out_of_its_packets(app, visit_id, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_COUNTRY_MIN", 2)
    with app.app_context():
        default = _build(app, visit_id)
        rows = annex_rows(_files(app, _packet(default, "en")) / "annex.csv")[1:]
        assert {r[3] for r in rows if r[1] == "1"} == {"CN", "DE", "TW", "US"}  # as before
        _campaign(app).packet_small_countries = False
        db.session.commit()
        build = _build(app, visit_id)
        folder = _files(app, _packet(build, "en"))
        text = pdf_text((folder / "letter.pdf").read_bytes())
        rows = annex_rows(folder / "annex.csv")[1:]
    # Demand 1 has two supporters in the US (the minimum) and one in each other country.
    first = {r[5]: (r[3], r[4]) for r in rows if r[1] == "1"}
    assert first['<script>alert("x")</script>'] == ("US", "United States")
    for name in ("王小明", "José Müller", "Anna 李"):
        assert first[name] == ("", "Other countries"), name
    assert "Other countries" in text
    for country in ("Germany", "Taiwan"):
        assert country not in text, country
    # Everyone is still named and counted: only the country heading changed.
    assert {r[5] for r in rows} == {safe_cell(name) for name in NAMED}
