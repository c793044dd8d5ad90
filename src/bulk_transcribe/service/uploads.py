"""Media files uploaded to a shared web app, which takes no paths on its server: each is kept
under OUT/uploads in a folder named by a hash of its content, so the same file uploaded twice
is one file, and no uploaded name chooses where on disk it lands."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from bulk_transcribe.errors import disk_full, is_disk_full
from bulk_transcribe.ingest.paths import is_media_path
from bulk_transcribe.ingest.result import Entry, InvalidEntry
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.outputs.naming import safe_filename

UPLOADS_FOLDER = "uploads"
NOT_MEDIA = "not a media file: upload audio or video (.mp3, .m4a, .wav, .mp4, …)"


@dataclass(frozen=True)
class UploadedMedia:
    name: str  # as the visitor's browser named it
    data: bytes


def keep_upload(out_dir: Path, upload: UploadedMedia) -> Entry:
    """The uploaded file as a local-file item, written once under OUT/uploads."""
    name = safe_filename(Path(upload.name.replace("\\", "/")).name)
    origin = f"upload {name}"
    if not is_media_path(Path(name)):
        return InvalidEntry(origin, name, NOT_MEDIA)
    folder = out_dir / UPLOADS_FOLDER / hashlib.sha256(upload.data).hexdigest()[:16]
    path = folder / name
    if not path.is_file():
        partial = folder / f".{name}.part"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(upload.data)
            os.replace(partial, path)  # never a half file under the final name
        except OSError as exc:
            partial.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise disk_full(f"keeping the upload {name}") from exc
            raise
    return ItemSpec(
        str(path.resolve()), SourceType.LOCAL_FILE, title=Path(name).stem, origin=origin
    )
