"""Torchwire's Qt designer: a thin view over the engine."""
