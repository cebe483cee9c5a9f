"""Mapped classes mirroring schema.sql (a test proves they agree); no commits, no serialisation."""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column, relationship

from waken.db import orm
from waken.timeutil import from_ms, to_ms


class Millis(TypeDecorator):
    """An aware UTC datetime stored as INTEGER Unix milliseconds."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_ms(value)

    def process_result_value(self, value, dialect):
        return None if value is None else from_ms(value)


class ApiToken(orm.Model):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String)
    token_hash: Mapped[str] = mapped_column(String, unique=True)
    prefix: Mapped[str] = mapped_column(String)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Millis)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(Millis)
    scopes: Mapped[str] = mapped_column(String, default="report agents:write agents:read")


class Device(orm.Model):
    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String)
    hash_key: Mapped[str] = mapped_column(String, unique=True)
    status: Mapped[str] = mapped_column(String, default="active")
    token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    device_type: Mapped[Optional[str]] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(Millis)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(Millis)
    orphaned: Mapped[bool] = mapped_column(default=False)


class DeviceActivity(orm.Model):
    __tablename__ = "device_activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    process_name: Mapped[str] = mapped_column(String)
    process_title: Mapped[Optional[str]] = mapped_column(String)
    push_mode: Mapped[str] = mapped_column(String, default="realtime")
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(Millis)
    updated_at: Mapped[datetime] = mapped_column(Millis)
    ended_at: Mapped[Optional[datetime]] = mapped_column(Millis)
    expires_at: Mapped[Optional[datetime]] = mapped_column(Millis)
    report_count: Mapped[int] = mapped_column(default=1)

    device: Mapped[Device] = relationship(lazy="joined", innerjoin=True)


class AgentActivity(orm.Model):
    __tablename__ = "agent_activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String)
    description: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    timestamp: Mapped[datetime] = mapped_column(Millis)
    duration_ms: Mapped[Optional[int]]
    tokens_used: Mapped[Optional[int]]
    agent: Mapped[Optional[str]] = mapped_column(String)
    meta: Mapped[Optional[dict]] = mapped_column("metadata", JSON(none_as_null=True))
    idempotency_key: Mapped[Optional[str]] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(Millis)


class AgentActivityRollup(orm.Model):
    """Per-15-minute counts kept by triggers in schema.sql; read by the statistics."""

    __tablename__ = "agent_activity_rollup"
    bucket: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(String, primary_key=True)
    agent: Mapped[str] = mapped_column(String, primary_key=True, default="")
    count: Mapped[int] = mapped_column(default=0)
    tokens_used: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    durations: Mapped[int] = mapped_column(default=0)


class AgentActivityDaily(orm.Model):
    """Per-UTC-day counts kept by triggers in schema.sql; read by the list totals."""

    __tablename__ = "agent_activity_daily"
    day: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(String, primary_key=True)
    agent: Mapped[str] = mapped_column(String, primary_key=True, default="")
    count: Mapped[int] = mapped_column(default=0)


class AppRecord(orm.Model):
    __tablename__ = "app_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    app_group: Mapped[str] = mapped_column(String)
    process_name: Mapped[str] = mapped_column(String)
    titles: Mapped[list] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime] = mapped_column(Millis)


class MediaAsset(orm.Model):
    __tablename__ = "media_asset"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    sha256: Mapped[str] = mapped_column(String)
    filename: Mapped[str] = mapped_column(String)
    mime: Mapped[str] = mapped_column(String)
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(Millis)
    last_used_at: Mapped[datetime] = mapped_column(Millis)


class MediaSourceRule(orm.Model):
    __tablename__ = "media_source_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(collation="NOCASE"), unique=True)
    action: Mapped[str] = mapped_column(String)
    label: Mapped[Optional[str]] = mapped_column(String)


class AppRule(orm.Model):
    __tablename__ = "app_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_name: Mapped[str] = mapped_column(String(collation="NOCASE"), unique=True)
    label: Mapped[Optional[str]] = mapped_column(String)
    hide_title: Mapped[bool] = mapped_column(default=False)
    hide: Mapped[bool] = mapped_column(default=False)


class Setting(orm.Model):
    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[object] = mapped_column(JSON)


class AdminUser(orm.Model):
    __tablename__ = "admin_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String, unique=True)
    password_hash: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(Millis)


class FeedVersion(orm.Model):
    """The public feed's change counter, bumped by triggers in schema.sql; read by waken.feed_cache."""

    __tablename__ = "feed_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column()


class AdminSession(orm.Model):
    __tablename__ = "admin_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_user.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(Millis)
