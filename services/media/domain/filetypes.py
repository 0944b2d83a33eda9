"""What an uploaded file really is, told from its first bytes rather than its name; anything unlisted is refused."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from services.media.domain.subtitles import UTF8_BOM, looks_like_srt


@dataclass(frozen=True)
class FileType:
    category: str  # "video" | "subtitle" | "document" | "image" | "audio"
    format: str
    mime: str


# The video sources we accept, and the ffmpeg demuxer to force for each so ffmpeg never guesses from the content.
ALLOWED_VIDEO_FORMATS = ("mp4", "mov", "flv", "wmv", "mkv")
FFMPEG_DEMUXER = {"mp4": "mov", "mov": "mov", "flv": "flv", "wmv": "asf", "mkv": "matroska"}

MP4 = FileType("video", "mp4", "video/mp4")
MOV = FileType("video", "mov", "video/quicktime")
FLV = FileType("video", "flv", "video/x-flv")
WMV = FileType("video", "wmv", "video/x-ms-wmv")
MKV = FileType("video", "mkv", "video/x-matroska")
WEBM = FileType("video", "mkv", "video/webm")
SRT = FileType("subtitle", "srt", "application/x-subrip")
PDF = FileType("document", "pdf", "application/pdf")
DOC = FileType("document", "doc", "application/msword")
PPT = FileType("document", "ppt", "application/vnd.ms-powerpoint")
DOCX = FileType("document", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
PPTX = FileType("document", "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation")
RTF = FileType("document", "rtf", "application/rtf")
HTML = FileType("document", "html", "text/html")
TXT = FileType("document", "txt", "text/plain")
PNG = FileType("image", "png", "image/png")
JPEG = FileType("image", "jpeg", "image/jpeg")
GIF = FileType("image", "gif", "image/gif")
WEBP = FileType("image", "webp", "image/webp")
MP3 = FileType("audio", "mp3", "audio/mpeg")
WAV = FileType("audio", "wav", "audio/wav")
M4A = FileType("audio", "m4a", "audio/mp4")
AAC = FileType("audio", "aac", "audio/aac")

ASF_HEADER_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_LOCAL_HEADER = b"PK\x03\x04"

# ISO base media `ftyp` brands that mean an MP4-family video (3GP included; its demuxer is the same).
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9"}
    | {b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"f4v ", b"XAVC"}
    | {b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3ge6", b"3ge7", b"3gg6", b"3g2a", b"3g2b", b"3g2c"}
)
QUICKTIME_BRAND = b"qt  "
M4A_BRAND = b"M4A "
# Still images share the container (HEIF, AVIF) and must never pass for a video.
IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})

# A QuickTime file without `ftyp` starts straight with one of these atoms.
QUICKTIME_LEADING_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_TOP_LEVEL_ATOMS = QUICKTIME_LEADING_ATOMS | {b"ftyp", b"uuid", b"udta", b"meta", b"PICT"}
_MOOV_CHILDREN = frozenset({b"mvhd", b"cmov", b"trak", b"udta", b"prfl", b"meta", b"iods", b"clip", b"ctab", b"rmra"})

_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")


def detect(head: bytes, filename: str = "") -> FileType | None:
    """The file's real type from its first bytes (pass at least 8 KiB), or None when it is not one we accept.

    The name only settles what the content cannot: Word or PowerPoint for legacy OLE2 files, and plain text,
    which is accepted only as a .txt file.
    """
    if not head:
        return None
    return _binary_type(head, _extension(filename)) or _text_type(head, _extension(filename))


def _binary_type(head: bytes, extension: str) -> FileType | None:
    if head[4:8] == b"ftyp":
        return _iso_media_type(head)
    if head[4:8] in QUICKTIME_LEADING_ATOMS:
        return MOV if _is_quicktime_without_ftyp(head) else None
    if head.startswith(b"FLV\x01"):
        return FLV
    if head.startswith(ASF_HEADER_GUID):
        return WMV
    if head.startswith(EBML_MAGIC):
        return WEBM if b"webm" in head[:64] else MKV
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(OLE2_MAGIC):
        return {"doc": DOC, "ppt": PPT}.get(extension)
    if head.startswith(ZIP_LOCAL_HEADER):
        return _office_open_xml_type(head)
    if head.startswith(b"{\\rtf"):
        return RTF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if _is_adts_frame(head):
        return AAC
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return MP3
    return None


def _iso_media_type(head: bytes) -> FileType | None:
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16:
        return None
    major = head[8:12]
    compatible = {head[at : at + 4] for at in range(16, min(box_size, len(head)) - 3, 4)}
    if major == QUICKTIME_BRAND:
        return MOV
    if major == M4A_BRAND:
        return M4A
    if major in MP4_BRANDS:
        return MP4
    if major in IMAGE_BRANDS or compatible & IMAGE_BRANDS:
        return None
    # An unlisted major brand (a camera maker's, say) still names the standard brands it complies with.
    if compatible & MP4_BRANDS:
        return MP4
    if QUICKTIME_BRAND in compatible:
        return MOV
    return None


def _is_quicktime_without_ftyp(head: bytes) -> bool:
    atom = head[4:8]
    size = int.from_bytes(head[0:4], "big")
    if size in (0, 1):  # 0: runs to the end of the file; 1: a 64-bit size follows. Only media data does that.
        return atom == b"mdat"
    if size < 8:
        return False
    if atom == b"moov" and len(head) >= 16 and head[12:16] not in _MOOV_CHILDREN:
        return False
    if size + 8 <= len(head):
        return head[size + 4 : size + 8] in _TOP_LEVEL_ATOMS
    return True


def _office_open_xml_type(head: bytes) -> FileType | None:
    names = _zip_entry_names(head)
    if any(name.startswith(b"word/") for name in names):
        return DOCX
    if any(name.startswith(b"ppt/") for name in names):
        return PPTX
    return None


def _zip_entry_names(head: bytes) -> list[bytes]:
    """Names of the ZIP entries whose local headers fall within the head."""
    names = []
    at = head.find(ZIP_LOCAL_HEADER)
    while at != -1 and at + 30 <= len(head):
        name_length = int.from_bytes(head[at + 26 : at + 28], "little")
        names.append(head[at + 30 : at + 30 + name_length])
        at = head.find(ZIP_LOCAL_HEADER, at + 4)
    return names


def _is_adts_frame(head: bytes) -> bool:
    """AAC in ADTS: a 12-bit sync word with the layer bits zero (FF F1, FF F9, ...)."""
    return len(head) >= 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0x0F < 13


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, then no reserved version, layer, bit rate or sample rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x03, (head[1] >> 1) & 0x03
    bitrate_index, sample_rate_index = head[2] >> 4, (head[2] >> 2) & 0x03
    return version != 1 and layer != 0 and bitrate_index != 0x0F and sample_rate_index != 3


def _text_type(head: bytes, extension: str) -> FileType | None:
    text = _head_text(head)
    if text is None:
        return None
    if looks_like_srt(text):
        return SRT
    opening = text.lstrip().lower()
    if opening.startswith(("<!doctype html", "<html")):
        return HTML
    if extension == "txt":
        return TXT
    return None


def _head_text(head: bytes) -> str | None:
    """The head as UTF-8 or GB18030 text, tolerating a character cut off at the end; None if it is not text."""
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if text.strip() and all(ch >= " " or ch in _TEXT_CONTROLS_ALLOWED for ch in text):
            return text
    return None


def _extension(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
