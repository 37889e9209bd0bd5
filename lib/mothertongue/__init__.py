"""mothertongue: from raw text in a low-resource language to a continued-pretrained LLM."""

__version__ = "0.1.0"
