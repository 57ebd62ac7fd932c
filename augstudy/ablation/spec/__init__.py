"""Which configs a study runs: the spec files, their schema, and how two factors' levels compose."""
