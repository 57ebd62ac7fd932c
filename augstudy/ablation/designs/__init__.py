"""Study designs: one module per design (one-factor, factorial, response curve, strength)."""
