"""Running a set of images: the embedding result, the cache and the Parquet store, and the executors
(this process, a process pool, a Dask cluster).
"""
