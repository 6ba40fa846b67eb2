"""fastinit-lint: lint and autofix PyTorch / Lightning model code so that it initializes fast and safely."""

__version__ = "0.1.0"
