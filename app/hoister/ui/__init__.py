"""Everything Qt. The only package of Hoister that may import PySide6."""
