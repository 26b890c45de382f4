"""The pageviews benchmark (``make bench``): wall time, requests, CPU and memory per scenario.

Each scenario serves a synthetic course (the batch groups: many courses) from
``python -m pageviews.testing`` in its own process and runs each client in
another (``benchmarks.harvester``), so the two share nothing but 127.0.0.1.
Every run's reports are checked against the ground truth, and its wall time is
set against a lower bound (``bounds``).
"""
