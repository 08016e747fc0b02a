"""The knowledge base: help articles in several languages, ranked full-text search, the FAQ seed."""
