"""Generative models of architectures (Arch-LLM, methods.md §4).

* :mod:`archrep.generate.vqvae`: the VQ-VAE that turns every cell into a sequence of discrete
  node codes, and (``bottleneck="gaussian"``) the continuous arch2vec-style VAE baseline;
* :mod:`archrep.generate.codelm`: the code language model (T5 from scratch, a local pretrained
  T5, or the pretrained SmolLM2-135M) with the "generate" and "fill" tasks;
* :mod:`archrep.generate.archllm`: the two stages together for NB101 / NB201 — generation and
  the fill mutation of the ``llm-fill`` search strategy;
* :mod:`archrep.generate.cells`: decoded cells -> canonical keys (validity), and back.
"""
