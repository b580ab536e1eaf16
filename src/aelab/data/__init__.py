"""Data: MNIST files, synthetic signals, sensor tables and windows (NumPy, no torch training)."""
