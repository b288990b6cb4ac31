"""Local language-model side of mkdocs-aigen: corpus, training, generation, checkpoints.

Nothing in this package imports mkdocs; torch and transformers are imported lazily so that
importing :mod:`mkdocs_aigen.ml` stays cheap.
"""
