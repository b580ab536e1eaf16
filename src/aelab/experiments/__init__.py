"""The two experiments aelab exists for, end to end: MNIST images and synthetic signals.

Each is a few functions over the rest of the API (data, models, training, detection,
metrics, plots), so that the command line, the demo and users' scripts run the same code.
"""
