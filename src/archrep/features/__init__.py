"""Per-architecture input features, computed on whole padded batches at once.

* :mod:`archrep.features.onehot`: one-hot op matrices and real-node masks.
* :mod:`archrep.features.lap`: TART's Laplacian-eigenvector tokens, batched eigen-decomposition.
* :mod:`archrep.features.templates`: LeDG-Former's language templates for ops and platforms.
* :mod:`archrep.features.language`: embeds templates with a pretrained language model, cached per text.
* :mod:`archrep.features.flow`: FGP's flow surrogates (pre-training targets), cached per dataset.
* :mod:`archrep.features.node_features`: numeric per-node features (costs, channels, kernel,
  shape) from node attributes.
"""
