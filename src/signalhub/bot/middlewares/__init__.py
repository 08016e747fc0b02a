"""Outer middlewares on every update: the DB session (transaction owner), then the user."""
