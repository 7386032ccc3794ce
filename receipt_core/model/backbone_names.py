"""The backbones known by name (``backbones.py`` builds them). Pure Python, so the CLI and the pages list the
choices without loading torch or transformers."""

DEFAULT_BACKBONE = "layout-minilm"
BACKBONE_NAMES = ("layout-minilm", "text-minilm", "tiny")
