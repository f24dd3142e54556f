"""Versioned schema migrations, discovered by name (``mNNNN_*.py``) and applied in order at start."""
