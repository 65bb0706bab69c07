"""Readers and writers of the checkpoint formats users have (PyTorch pickles, transformers, CTranslate2)."""
