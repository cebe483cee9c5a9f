"""Marshmallow schemas: what the API accepts and returns (and what OpenAPI describes)."""
