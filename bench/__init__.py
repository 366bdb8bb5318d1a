"""Benchmarks that print figures and ratios against a baseline run in the same process.

They never assert a time; ``make bench`` runs them all.
"""
