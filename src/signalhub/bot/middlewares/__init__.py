"""Outer middlewares on every update: the DB session (transaction owner), the user, then the
ban."""
