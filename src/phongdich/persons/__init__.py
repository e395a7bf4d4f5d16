"""The people registry: identity documents, residence, households, de-duplication."""
