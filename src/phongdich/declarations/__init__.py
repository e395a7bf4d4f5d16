"""Health declarations: what a citizen declares about symptoms, exposures and travel."""
