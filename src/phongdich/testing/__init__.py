"""Sampling and labs: screening campaigns, single and pooled tubes, results, retests."""
