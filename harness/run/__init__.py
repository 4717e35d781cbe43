"""Running one test: spec -> plan -> runner (phases) -> history -> store."""
