"""Typed client SDK for the Read API v3.2."""
