"""synchrony: dyadic synchrony analysis of recorded two-person sessions."""

__version__ = "0.1.0"
