"""simfleet package."""
