"""Helpers shared by the tests of every package: paths, and the examples trained once."""
