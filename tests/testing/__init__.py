"""Tests of the fake Canvas (pageviews.testing)."""
