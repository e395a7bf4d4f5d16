"""Venues (shops, markets, offices, residential gates…) and their check-in QR posters."""
