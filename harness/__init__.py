"""Runs a test: spec, generators, clients, runner, backends, simulator, store, campaigns, CLI."""
