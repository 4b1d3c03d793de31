"""NAS-Bench-201: the space (registered by .space), its encoding, benchmark and translator."""
