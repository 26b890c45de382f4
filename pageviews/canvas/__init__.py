"""Canvas's protocol and transport: the HTTP client and the pure rules it applies.

The client (the only code that does HTTP) moves bytes, retries and counts; what a
reply to any call means (:mod:`.outcomes`) and the error it raises
(:mod:`.failures`), links, responses, rate-limit headers, the adaptive limiter,
the retry policy and pagination are plain functions over plain values, tested
without a network.
"""
