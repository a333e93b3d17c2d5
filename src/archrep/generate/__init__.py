"""Generative models of architectures (Arch-LLM, methods.md §4): :mod:`archrep.generate.vqvae`,
the VQ-VAE that turns every cell into a sequence of discrete node codes."""
