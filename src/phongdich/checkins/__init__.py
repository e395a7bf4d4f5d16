"""Check-ins at venues: device batches, phone and staff scans, paper logs, retention, counts."""
