"""Mapped classes: the tables the owner's pages and commands edit through the ORM, and two they only read.

They mirror schema.sql (a test proves they agree); no commits, no serialisation. Device and
AppRecord are read by the admin pages; their tables are written in plain SQL (a report writes
them), like every table without a class here: db.py lists which table is written which way.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

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


class AppRecord(orm.Model):
    __tablename__ = "app_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    app_group: Mapped[str] = mapped_column(String)
    process_name: Mapped[str] = mapped_column(String)
    titles: Mapped[list] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime] = mapped_column(Millis)


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


class OwnerStatus(orm.Model):
    __tablename__ = "owner_status"
    id: Mapped[int] = mapped_column(primary_key=True)
    emoji: Mapped[str] = mapped_column(String, default="")
    text: Mapped[str] = mapped_column(String, default="")
    until_at: Mapped[Optional[datetime]] = mapped_column(Millis)
    set_at: Mapped[datetime] = mapped_column(Millis)


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


class ModelPrice(orm.Model):
    __tablename__ = "model_price"
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String, unique=True)
    input_per_mtok: Mapped[int] = mapped_column(Integer)
    output_per_mtok: Mapped[int] = mapped_column(Integer)


class AlertChannel(orm.Model):
    __tablename__ = "alert_channel"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    url: Mapped[str] = mapped_column(String)
    masked: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(Millis)


class AlertRule(orm.Model):
    __tablename__ = "alert_rule"
    kind: Mapped[str] = mapped_column(String, primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    channels: Mapped[list] = mapped_column(JSON, default=list)
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    since: Mapped[Optional[datetime]] = mapped_column(Millis)
