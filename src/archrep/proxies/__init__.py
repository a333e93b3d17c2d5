"""Training-free proxies behind one registry: ``proxies.get("synflow")(net, x, y, seed=0)``.

Registered: ``params``, ``flops`` (:mod:`.basic`); ``grad_norm``, ``snip``, ``synflow``
(:mod:`.gradient`); ``jacov``, ``naswot`` (:mod:`.activation`); ``ntk``, ``vintk`` and their
MSA-only / FFN-only variants ``ntk_msa``, ``ntk_ffn``, ``vintk_msa``, ``vintk_ffn`` (:mod:`.ntk`).
Each proxy says its direction: ``get(name).is_higher_better(**options)``. Real input images
come from :func:`archrep.proxies.inputs.load_images`.
"""
from __future__ import annotations

from archrep.proxies.registry import PROXIES, Proxy, get, list_proxies, register_proxy, score, split_on_oom

from archrep.proxies import activation, basic, gradient, ntk  # noqa: E402,F401  (register the proxies)

__all__ = ["PROXIES", "Proxy", "get", "list_proxies", "register_proxy", "score", "split_on_oom"]
