"""OpenHire: an open-source backend for AI-led job interviews."""

__version__ = "0.1.0"
