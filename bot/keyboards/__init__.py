"""Keyboard builders and versioned callback data."""
