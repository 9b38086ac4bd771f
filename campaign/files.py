"""Files organisers upload to be published: recognised by their first bytes, never by their
name, and stripped of metadata before they are stored.

A phone's photo carries where it was taken; a PDF carries its author; a logo exported from
a design tool carries the designer's name and software. What we publish is the picture or
the document alone, never the organisation's devices.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from campaign.errors import RefusedError

# What a file starts with, and the type and extension it is published under.
FILE_TYPES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}
EXTENSIONS = {mime: ext for mime, ext in FILE_TYPES.values()}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})


class FileRefused(RefusedError):
    """A file that cannot be published; ``code`` is ``file_type`` or ``file_unreadable``."""


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
            writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
            writer.metadata = None
            writer.xmp_metadata = None
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            # A copy of the pixels alone: EXIF (with GPS), XMP and comments stay behind.
            bare = Image.frombytes(image.mode, image.size, image.tobytes())
            if image.mode == "P":
                bare.putpalette(image.getpalette())
            if max_side and max(bare.size) > max_side:
                bare.thumbnail((max_side, max_side))
            if mime == "image/jpeg" and bare.mode not in ("RGB", "L", "CMYK"):
                bare = bare.convert("RGB")
            out = io.BytesIO()
            bare.save(out, format="PNG" if mime == "image/png" else "JPEG", quality=90)
            return out.getvalue()
    except (PyPdfError, UnidentifiedImageError, OSError, ValueError) as exc:
        raise FileRefused("file_unreadable") from exc
