"""The FLASH space (registered by .space): its blocks, encoding and scoring formulas."""
