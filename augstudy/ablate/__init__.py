"""Paired-seed ablations of the fixed CNN and the statistics of their ranked effect table."""
