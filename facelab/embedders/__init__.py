"""Embedders: aligned face chips -> L2-normalised vectors; the embedder registry and embedding files.
"""
