"""Analyses for the course and the report, computing only: projections and experiments
(figures in :mod:`facelab.plotting`).
"""
