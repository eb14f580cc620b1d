"""Serving a trained model over HTTP: the Open Inference Protocol (KServe v2 / Triton HTTP)
and a ``/predict`` endpoint for people, on onnxruntime.

The server's own modules (``errors``, ``model``, ``protocol``, ``app``, ``server``) need
only onnxruntime, numpy, FastAPI and uvicorn and import nothing else of the engine (an
import-linter contract holds that): a bundle ships them file for file as
``torchwire_serve/``. ``prepare`` (export a run first), ``bundle`` and ``cli`` are the
engine's side.
"""
