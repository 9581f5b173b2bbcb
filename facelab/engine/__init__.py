"""Running a set of images: one driver with two seams.

=============  ==================================================================================
module         job
=============  ==================================================================================
``pipeline``   the driver, ``embed_images`` / ``embed_folder``: look up in a cache, compute the
               misses with an executor, put each finished partition, assemble the result
``settings``   ``EmbedSettings`` (model, weights, detector, policy, flip, upsample, device): builds
               the embedder and detector, and the settings key caches file entries under
``result``     ``EmbeddingResult`` (table, vectors, typed faces, chips, ``rows_of``) and
               ``build_result``, its only builder
``cache``      seam 1: the ``EntryCache`` protocol (lookup / put by content hash), ``CacheEntry``,
               and the file cache ``EmbeddingCache``
``store``      the Parquet ``EmbeddingStore`` (a cache too: resumable, damage quarantined)
``executors``  seam 2: the ``Executor`` protocol, ``Job`` / ``Partition``, ``SerialExecutor``
``pool``       ``PoolExecutor``: workers load, detect and align, this process embeds (the default)
``dask``       ``DaskExecutor``: one task per partition on a Dask cluster; ``connect``
=============  ==================================================================================

Imports run one way: ``cache`` <- ``store``; ``settings`` <- ``result``; ``settings`` <-
``executors`` <- ``pool``, ``dask``; the driver ``pipeline`` on top of them all. The engine imports
the layers below it (core, data, models, stages, embedders) and nothing above.
"""
