"""Base templates, static files, translations and the pages that belong to no domain."""
