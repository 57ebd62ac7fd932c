"""What results mean: the effect table, its statistics, per-class effects."""
