"""Files organisers upload to be published: recognised by their first bytes, never by their
name, and stripped of metadata before they are stored.

A phone's photo carries where it was taken; a PDF carries its author; a logo exported from
a design tool carries the designer's name and software. What we publish is the picture or
the document alone, never the organisation's devices.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from sqlalchemy import event
from sqlalchemy.orm import Session

from campaign.errors import RefusedError
from campaign.extensions import db

# What a file starts with, and the type and extension it is published under.
FILE_TYPES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}
EXTENSIONS = {mime: ext for mime, ext in FILE_TYPES.values()}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
# The most pixels an uploaded image may have: a 48-megapixel phone photo, not more (decoded,
# that is already 150 MB; the limit keeps two such copies within a small server's memory).
MAX_PIXELS = 48_000_000


class FileRefused(RefusedError):
    """A file that cannot be published; ``code`` is ``file_type``, ``file_unreadable`` or
    ``file_too_large`` (an image with more than ``MAX_PIXELS`` pixels)."""


def sniff(data: bytes, allowed: frozenset[str] | set[str]) -> str:
    """The file's type by its first bytes, if it is one of ``allowed``; else ``FileRefused``."""
    for magic, (mime, _ext) in FILE_TYPES.items():
        if data.startswith(magic) and mime in allowed:
            return mime
    raise FileRefused("file_type")


def strip(data: bytes, mime: str, max_side: int | None = None) -> bytes:
    """The file's content without metadata, as the same type; ``FileRefused`` if unreadable.

    ``max_side`` scales an image down (never up) so that neither side is longer.
    """
    try:
        if mime == "application/pdf":
            return _strip_pdf(data)
        return _strip_image(data, mime, max_side)
    except FileRefused:
        raise
    except (PyPdfError, UnidentifiedImageError, OSError, ValueError, KeyError) as exc:
        raise FileRefused("file_unreadable") from exc


# What a PDF's catalogue and pages may carry besides what is printed: scripts and actions
# run on opening, attached files, forms, annotations (links, attachments) and metadata.
_PDF_CATALOGUE_EXTRAS = ("/OpenAction", "/AA", "/Names", "/AcroForm", "/Metadata", "/URI")
_PDF_PAGE_EXTRAS = ("/AA", "/Annots", "/Metadata", "/PieceInfo")


def _strip_pdf(data: bytes) -> bytes:
    """The pages as printed: no document or page metadata, scripts, actions, attachments or
    annotations, and every embedded image re-encoded from its pixels (a scan's JPEG keeps
    the phone's EXIF, with where it was taken, inside the PDF)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.metadata = None
    writer.xmp_metadata = None
    root = writer.root_object
    for key in _PDF_CATALOGUE_EXTRAS:
        if key in root:
            del root[key]
    for page in writer.pages:
        for key in _PDF_PAGE_EXTRAS:
            if key in page:
                del page[key]
        for embedded in page.images:
            picture = embedded.image
            if picture.width * picture.height > MAX_PIXELS:
                raise FileRefused("file_too_large")
            embedded.replace(Image.frombytes(picture.mode, picture.size, picture.tobytes()))
    # What was taken off is still in the file until nothing points to it.
    writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _strip_image(data: bytes, mime: str, max_side: int | None) -> bytes:
    """The image's pixels alone, upright, as PNG or JPEG; refused when too large to open.

    The size is read from the header before any pixel is decoded: a small file can hold
    an image that takes gigabytes once decoded (a "decompression bomb").
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise FileRefused("file_too_large")
                if max_side and image.format == "JPEG":
                    image.draft("RGB", (max_side, max_side))  # decode at a smaller scale
                image.load()
                # Phones store a photo sideways with an orientation tag; the copy below
                # drops every tag, so turn the pixels first.
                upright = ImageOps.exif_transpose(image)
                if max_side and max(upright.size) > max_side:
                    upright.thumbnail((max_side, max_side))
                return _bare_copy(upright, mime)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise FileRefused("file_too_large") from exc


def _bare_copy(image: Image.Image, mime: str) -> bytes:
    """A new image of the same pixels: EXIF (with GPS), XMP and comments stay behind."""
    if image.mode == "P":
        # Palette images keep their transparency as RGBA; everything else of theirs goes.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    if mime == "image/jpeg" and bare.mode not in ("RGB", "L", "CMYK"):
        bare = bare.convert("RGB")
    out = io.BytesIO()
    bare.save(out, format="PNG" if mime == "image/png" else "JPEG", quality=90)
    return out.getvalue()


def write_for_commit(path: Path, data: bytes) -> None:
    """Write a file that belongs to rows of the current transaction: whole or not at all,
    and removed again if the transaction rolls back, so no file outlives a change that
    never happened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    db.session().info.setdefault(_WRITTEN, []).append(path)


def remove_after_commit(path: Path) -> None:
    """Remove a file once the current transaction commits (not before: should the commit
    fail, the rows still name it)."""
    db.session().info.setdefault(_REMOVED, []).append(path)


_WRITTEN, _REMOVED = "files_written", "files_to_remove"


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_REMOVED, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_REMOVED, None)
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)
