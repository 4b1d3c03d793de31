"""The analytical in-memory-computing model (registered by .model): structure, mapping, costs."""
