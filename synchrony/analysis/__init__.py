"""Analysis of Signals: lagged cross-correlation, surrogates and mismatch windows."""
