"""The media service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = TYPE_ANNOTATION_MAP


outbox, inbox = messaging_tables(Base.metadata)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        Index("ix_assets_owner_checksum", "owner_id", "sha256"),
        Index("ix_assets_school_state", "school_id", "state"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    school_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(6), default="")
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(20), default="")  # video, subtitle, document, image, audio
    format: Mapped[str] = mapped_column(String(20), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    claimed_sha256: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    source_key: Mapped[str] = mapped_column(String(300))
    upload_id: Mapped[str] = mapped_column(String(300), default="")
    part_size: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    review_state: Mapped[str] = mapped_column(String(20), default="unreviewed")
    review_reason: Mapped[str] = mapped_column(Text, default="")
    spec_profile: Mapped[str] = mapped_column(String(30), default="")
    spec_report_json: Mapped[str] = mapped_column(Text, default="[]")
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    renditions_json: Mapped[str] = mapped_column(Text, default="[]")
    rendition_prefix: Mapped[str] = mapped_column(String(300), default="")
    remuxed: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    subtitles: Mapped[list[SubtitleTrack]] = relationship(
        order_by="SubtitleTrack.language", lazy="selectin", cascade="all, delete-orphan"
    )


class SubtitleTrack(Base):
    __tablename__ = "subtitle_tracks"
    __table_args__ = (UniqueConstraint("asset_id", "language", name="uq_subtitle_tracks_asset_language"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    language: Mapped[str] = mapped_column(String(5))
    cues: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(300))
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChunkPlan(Base):
    """How one attempt of a long source was cut: where its chunks and its audio are stored, and what every chunk
    is encoded to (the same for all, so their renditions join)."""

    __tablename__ = "chunk_plans"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(300))       # chunks/<asset>/<attempt>-<random>/ in storage
    chunk_count: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float] = mapped_column(Float)
    encoding_json: Mapped[str] = mapped_column(Text)        # rungs, output fps, field order, audio present
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    join_starts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # across re-queued join jobs


class AssetChunk(Base):
    """One chunk of a plan: its exact place in the source (the keyframe it starts at) and whether it is encoded."""

    __tablename__ = "asset_chunks"
    asset_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_seconds: Mapped[float] = mapped_column(Float)
    duration_seconds: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued, encoded
    deliveries: Mapped[int] = mapped_column(Integer, default=0)  # starts by a worker, across re-queued jobs
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)  # a worker's heartbeat too

