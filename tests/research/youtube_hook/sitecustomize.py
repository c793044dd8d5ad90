"""Loaded by Python at start in processes a test launches with this folder on PYTHONPATH."""

from tests.research.recorded_youtube import install_from_environment

install_from_environment()
