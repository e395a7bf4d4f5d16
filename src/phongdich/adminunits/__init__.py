"""The administrative tree (any depth): province → district → commune, or the 2025 two levels."""
