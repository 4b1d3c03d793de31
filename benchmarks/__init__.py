"""Benchmarks that produce every figure the README quotes."""
