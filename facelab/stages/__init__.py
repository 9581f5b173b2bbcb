"""The per-image stages before the network: typed faces, detection, alignment, and
``prepare_image`` (load -> detect -> align, never raising for a bad image).
"""
