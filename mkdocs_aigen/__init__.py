"""mkdocs-aigen: draft stub pages with a local fine-tuned model."""
