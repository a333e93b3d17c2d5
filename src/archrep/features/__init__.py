"""Per-architecture input features, computed on whole padded batches at once.

* :mod:`archrep.features.onehot`: one-hot op matrices and real-node masks.
"""
