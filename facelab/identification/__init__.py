"""Face identification (1:N): gallery/probe splits, rank-1 and CMC, open-set metrics, the
distractor curve and FAISS search.
"""
