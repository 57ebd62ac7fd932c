"""The study folder: the store (source of truth), recovery, the exported files and their schema."""
