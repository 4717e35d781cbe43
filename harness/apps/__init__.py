"""Thin users of the run core and the backends: cli, check, explore, campaign, serve, pytest plugin."""
