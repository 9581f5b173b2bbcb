"""Images and datasets: reading real-world image files, finding and fetching LFW, folder-per-identity
sets, the two-ID and teaching sets.
"""
