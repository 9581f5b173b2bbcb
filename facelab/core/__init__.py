"""Foundations every layer may use: errors, atomic writes, hashing, JSON safety, registries,
devices, vector helpers and the calibration of thresholds. Imports nothing else from facelab.
"""
