"""Training and evaluation of predictors.

* :mod:`archrep.train.metrics`: every metric, defined once (``kendall_tau``, ``spearman``,
  ``mape``, ``acc10``, ``precision_at_{1,5,10}pct``; ``METRICS``, ``evaluate``).
* :mod:`archrep.train.losses`: training losses by name (``mse``, ``hinge``, ``both``).
* :mod:`archrep.train.fit`: the trainer of torch predictors (``train_network``,
  ``predict_network``, ``seed_everything``, ``Standardizer``).

The split protocols live in :mod:`archrep.data.splits`, the predictors in :mod:`archrep.models`.
"""
