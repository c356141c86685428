"""Models' training recipes and the generators of their data (``training/<model>/``)."""
