"""Tests of synthmark.audio."""
