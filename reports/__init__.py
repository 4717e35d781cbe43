"""HTML reports: run report, timeline, counterexample view, plots, campaign and index pages."""
