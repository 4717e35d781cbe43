"""Checkers: pure functions from a history to a verdict (DESIGN §7).

This package imports nothing else of splitbrain, so any history file can be checked on its own.
"""
