"""paddler: serve LLMs with llama.cpp across many machines."""

__version__ = "0.1.0"
