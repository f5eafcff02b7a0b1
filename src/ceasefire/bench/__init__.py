"""Benchmarks. Each measures ceasefire and, in the same run on the same data, a named peer."""
