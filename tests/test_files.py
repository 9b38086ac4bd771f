"""Uploaded files to be published: recognised by their bytes, stripped of what they say about
their makers, upright, and refused when they would take too much memory to open."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from campaign import files

SECRET = "Private Author Name"


def _jpeg(size=(40, 30), orientation: int | None = None, artist: str = SECRET) -> bytes:
    exif = Image.Exif()
    exif[0x013B] = artist
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # where the photo was taken
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _image_streams(pdf: bytes) -> list[bytes]:
    """The image streams of a PDF's first page as stored (a JPEG is kept as it was given)."""
    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]
    return [xobjects[name].get_object().get_data() for name in xobjects]


def test_a_photo_taken_sideways_is_stored_upright_without_its_tags():
    stored = files.strip(_jpeg((40, 20), orientation=6), "image/jpeg")
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 40)
        assert dict(image.getexif()) == {}
    assert SECRET.encode() not in stored


def test_a_transparent_palette_logo_keeps_its_transparency():
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="PNG", transparency=0)
    with Image.open(io.BytesIO(files.strip(out.getvalue(), "image/png"))) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0


def test_an_image_too_large_to_open_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # 64 megapixels in a few kB
    assert len(out.getvalue()) < 100_000
    with pytest.raises(files.FileRefused) as refused:
        files.strip(out.getvalue(), "image/png")
    assert refused.value.code == "file_too_large"


def test_a_scanned_pdf_loses_its_metadata_scripts_links_and_the_photos_tags(tmp_path):
    photo = tmp_path / "scan.jpg"
    photo.write_bytes(_jpeg(artist="Scanner Owner"))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setAuthor(SECRET)
    page.drawImage(str(photo), 72, 600)
    page.linkURL("javascript:alert(1)", (72, 72, 200, 100))
    page.drawString(72, 720, "Reply from the Ministry")
    page.save()
    original = out.getvalue()
    [scan] = _image_streams(original)
    assert b"Scanner Owner" in scan  # the JPEG inside carries the phone's tags
    assert b"javascript" in original
    stored = files.strip(original, "application/pdf")
    for secret in (SECRET.encode(), b"javascript"):
        assert secret not in stored
    reader = PdfReader(io.BytesIO(stored))
    assert "Reply from the Ministry" in reader.pages[0].extract_text()
    [kept] = _image_streams(stored)  # the picture itself stays, without its tags
    assert b"Scanner Owner" not in kept
    assert reader.pages[0].images[0].image.size == (40, 30)


def test_files_are_known_by_their_bytes_not_their_names():
    with pytest.raises(files.FileRefused) as refused:
        files.sniff(b"GIF89a....", files.IMAGE_TYPES)
    assert refused.value.code == "file_type"
    assert files.sniff(_jpeg(), files.IMAGE_TYPES) == "image/jpeg"
    with pytest.raises(files.FileRefused):
        files.sniff(b"%PDF-1.4", files.IMAGE_TYPES)  # a PDF where only images may go


def test_files_follow_the_transaction_they_belong_to(app, tmp_path):
    from campaign.extensions import db

    written, kept, removed = tmp_path / "new.png", tmp_path / "kept.png", tmp_path / "old.png"
    kept.write_bytes(b"kept")
    removed.write_bytes(b"old")
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # a transaction, as when rows are written
        files.write_for_commit(written, b"new")
        files.remove_after_commit(kept)
        assert written.read_bytes() == b"new"
        db.session.rollback()  # the change never happened
        assert not written.exists()
        assert kept.exists()
        db.session.execute(db.text("SELECT 1"))
        files.remove_after_commit(removed)
        assert removed.exists()  # until the commit
        db.session.commit()
        assert not removed.exists()
    assert not list(tmp_path.glob("*.part"))
