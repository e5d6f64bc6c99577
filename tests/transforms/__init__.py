"""Tests of synthmark.transforms."""
