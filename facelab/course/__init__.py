"""The course: the notebook series executed headless and rendered as static HTML.
"""
