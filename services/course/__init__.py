"""The course service: MOOC registry, parent courses, teaching plans, runs, teams, classes."""
