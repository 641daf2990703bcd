"""datacanary: a GitHub-native reliability gate for data pipelines."""

__version__ = "0.1.0"
