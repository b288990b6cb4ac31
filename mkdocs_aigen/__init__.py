"""mkdocs-aigen: draft stub pages with a local fine-tuned model."""

__version__ = "0.1.0"
